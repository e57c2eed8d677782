// One reader for secrets and small files (tokens, passwords, nagios.cfg, INI files): a regular
// file only, opened O_NONBLOCK so that a FIFO at the path can never hang the open, read up to a
// cap so that a huge file is refused rather than read into memory.
#pragma once

#include <cstddef>
#include <string>

namespace heal {

/// Opens `path` for reading without blocking and without a controlling terminal; -1 with
/// `error` in words when it cannot, or when it is not a regular file (a FIFO, a device, a
/// folder). The descriptor is back in blocking mode.
int open_regular(const std::string& path, std::string& error);

/// The whole of `path` into `text`, at most `max_bytes`. Returns "" or why not, in words
/// ("is not a regular file (a FIFO)", "is larger than 4096 bytes", strerror).
std::string read_small_file(const std::string& path, std::size_t max_bytes, std::string& text);

/// The first line of `path` (without "\n" or "\r\n"), from at most `max_bytes`. Returns "" or
/// why not, in words.
std::string read_first_line(const std::string& path, std::size_t max_bytes, std::string& line);

}  // namespace heal
