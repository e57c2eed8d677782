// heal-ctl.ini: the [client] defaults (host, port, cert, key, ca, crl, crl_stale, server_name,
// timeout).
#pragma once

#include "client.hpp"
#include "ini_file.hpp"

#include <string>

namespace heal {

/// Fills `options` from `path`. Throws ConfigError with file, line and key.
/// Relative paths are relative to the file's folder.
void load_client_config(const std::string& path, ClientOptions& options);

}  // namespace heal
