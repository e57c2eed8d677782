// heal-ctl's command line, apart from its main: parsed into Options (CLI11), then validated,
// both pure and unit-tested (tests/unit/ctl_options_test.cpp). main() loads the client
// configuration, calls the listener and prints.
#pragma once

#include "client_config.hpp"

#include <optional>
#include <string>
#include <vector>

namespace heal::ctl {

struct Options {
    ClientOverrides over;  ///< what the command line sets over the configuration file
    std::string config = "/etc/heal/heal-ctl.ini";
    bool config_given = false;
    std::string verb, service;
    bool json = false, force = false;
    std::string since;  ///< history: a duration as given
    bool since_given = false;
    unsigned limit = 50;
    bool limit_given = false;
};

/// What parsing gave: Options, an error in words (a usage error), or an exit code when the
/// command line asked for --help or --version (printed already).
struct Parsed {
    std::optional<Options> options;
    std::string error;
    std::optional<int> exit;
};

Parsed parse_options(const std::vector<std::string>& args);

/// What the listener cannot be asked, in words, or "": SERVICE missing, --since or --limit
/// without history, a bad --since, --force on a verb it does not apply to, words with spaces.
/// `since_s` gets --since in seconds.
std::string validate(const Options& o, double& since_s);

}  // namespace heal::ctl
