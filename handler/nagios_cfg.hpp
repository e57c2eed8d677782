// Where Nagios keeps the files heal-event-handler reads and writes, as Nagios' own main
// configuration says: status_file, object_cache_file and command_file from nagios.cfg.
#pragma once

#include <istream>
#include <optional>
#include <string>

namespace heal::nagios {

/// The three paths, with Debian 12's nagios4 defaults (its /etc/nagios4/nagios.cfg).
struct Paths {
    std::string status_file = "/var/lib/nagios4/status.dat";
    std::string objects_file = "/var/lib/nagios4/objects.cache";
    std::string command_file = "/var/lib/nagios4/rw/nagios.cmd";
};

inline constexpr const char* debian_nagios_cfg = "/etc/nagios4/nagios.cfg";

/// Reads the three keys from nagios.cfg text (`name` for messages), starting from `defaults`
/// for a key the file does not set. Read as Nagios reads it: "key=value" lines, blanks and
/// '#' or ';' comments skipped, spaces around key and value dropped, a later key wins; every
/// other key (cfg_dir, cfg_file, include lines ...) is ignored and no other file is read.
/// Strict: a line without '=', a NUL byte, a line over 64 KiB, a file over 4 MiB, or one of the
/// three keys empty or not an absolute path is a StatusError "NAME:LINE: ...".
Paths read_nagios_cfg(std::istream& in, const std::string& name, const Paths& defaults = {});

/// Where the paths came from, for --check and the log.
struct Located {
    Paths paths;
    std::string source;  ///< "/etc/nagios4/nagios.cfg", or why Debian's defaults were used
    std::string error;   ///< "" or why nagios.cfg could not be used (then `paths` are the defaults)
};

/// The paths from the file `cfg`. When `cfg` was not named by the user (`given` false) and does
/// not exist, Debian's defaults, said in `source`; any other failure is `error`, naming the file.
Located locate(const std::string& cfg, bool given);

}  // namespace heal::nagios
