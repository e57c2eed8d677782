// heal-ctl's command line, apart from its main: parsed into Options (CLI11), then validated,
// both pure and unit-tested (tests/unit/ctl_options_test.cpp). main() loads the client
// configuration, calls the listener and prints.
#pragma once

#include "common/client_config.hpp"

#include <cstdint>
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
    bool all = false;       ///< pause/resume --all: every service on the host
    std::string for_text;   ///< pause --for, as given
    bool for_given = false;
    std::string reason;     ///< pause --reason
    bool reason_given = false;
};

/// What parsing gave: Options, an error in words (a usage error), or an exit code when the
/// command line asked for --help or --version (printed already).
struct Parsed {
    std::optional<Options> options;
    std::string error;
    std::optional<int> exit;
};

Parsed parse_options(const std::vector<std::string>& args);

/// What validate() read from the durations given.
struct Durations {
    double since_s = 0;       ///< history --since
    std::uint64_t for_s = 0;  ///< pause --for, whole seconds (rounded up)
};

/// What the listener cannot be asked, in words, or "": SERVICE missing, --since or --limit
/// without history, a bad --since, --force on a verb it does not apply to, words with spaces,
/// pause without --for or beyond 7 days, a --reason too long or with control characters,
/// --all with a SERVICE or another verb.
std::string validate(const Options& o, Durations& d);
std::string validate(const Options& o, double& since_s);

/// The request line for these options (validated, `d` from validate()).
std::string request_line(const Options& o, const Durations& d);

}  // namespace heal::ctl
