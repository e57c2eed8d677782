// heal-ctl.ini: the [client] defaults (host, port, cert, key, ca, crl, crl_stale, server_name,
// timeout).
#pragma once

#include "common/client.hpp"
#include "common/ini_file.hpp"

#include <optional>
#include <string>

namespace heal {

/// Fills `options` from `path`. Throws ConfigError with file, line and key.
/// Relative paths are relative to the file's folder.
void load_client_config(const std::string& path, ClientOptions& options);

/// What a command line gave (each only when given): it wins over the file.
struct ClientOverrides {
    std::optional<std::string> host{}, cert{}, key{}, ca{}, crl{}, server_name{}, bind{};
    std::optional<unsigned short> port{};
    std::optional<double> timeout{};
};

/// The client's options, one way for heal-ctl, check_heal and heal-event-handler: the file
/// `config` (read when it exists, or always when `required`: the user named it), then the
/// command line's `over`. Throws ConfigError, also when no certificate, key or CA is known.
ClientOptions client_options(const std::string& config, bool required, const ClientOverrides& over);

}  // namespace heal
