#include "handler/status_file.hpp"

#include "common/small_file.hpp"

#include "common/text.hpp"

#include <ext/stdio_filebuf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <set>

namespace heal::nagios {

namespace {

/// Lines of a file Nagios wrote, within the limits; says which line went wrong.
class Lines {
public:
    Lines(std::istream& in, const Limits& limits, std::string what)
        : in_(in), limits_(limits), what_(std::move(what)) {}

    bool next(std::string_view& line) {
        for (;;) {
            auto nl = buf_.find('\n', pos_);
            if (nl != std::string::npos) return take(nl - pos_, nl + 1, line);
            if (buf_.size() - pos_ > limits_.max_line) fail(number_ + 1, "a line longer than " +
                                                          std::to_string(limits_.max_line) + " bytes");
            if (eof_) return pos_ < buf_.size() && take(buf_.size() - pos_, buf_.size(), line);
            buf_.erase(0, pos_);
            pos_ = 0;
            char chunk[65536];
            in_.read(chunk, sizeof chunk);
            auto n = static_cast<std::size_t>(in_.gcount());
            if (n == 0) {
                if (in_.bad()) throw StatusError(what_ + ": read error");
                eof_ = true;
                continue;
            }
            total_ += n;
            if (total_ > limits_.max_bytes)
                throw StatusError(what_ + ": larger than " + std::to_string(limits_.max_bytes) + " bytes");
            buf_.append(chunk, n);
        }
    }

    std::size_t number() const { return number_; }
    std::uint64_t total() const { return total_; }
    [[noreturn]] void fail(std::size_t line, const std::string& why) const {
        throw StatusError(what_ + " line " + std::to_string(line) + ": " + why);
    }

private:
    bool take(std::size_t len, std::size_t next_pos, std::string_view& line) {
        line = std::string_view(buf_).substr(pos_, len);
        pos_ = next_pos;
        ++number_;
        if (line.size() > limits_.max_line)
            fail(number_, "a line longer than " + std::to_string(limits_.max_line) + " bytes");
        if (line.find('\0') != std::string_view::npos) fail(number_, "a NUL byte");
        return true;
    }

    std::istream& in_;
    const Limits& limits_;
    std::string what_, buf_;
    std::size_t pos_ = 0, number_ = 0;
    std::uint64_t total_ = 0;
    bool eof_ = false;
};

std::string_view trim_left(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    return s;
}

/// Reads a block's lines up to its closing "}", handing each one (trimmed on the left, not
/// empty) to `field`. False when the file ends first: a truncated file.
template <class Field>
bool read_block(Lines& lines, Field field) {
    std::string_view line;
    while (lines.next(line)) {
        line = trim_left(line);
        if (line == "}") return true;
        if (!line.empty()) field(line);
    }
    return false;
}

/// "NAME {" (status.dat) or "define NAME {" (objects.cache): NAME, or nullopt.
std::optional<std::string_view> block_start(std::string_view line, std::string_view prefix) {
    if (line.size() < prefix.size() + 2 || line.substr(0, prefix.size()) != prefix ||
        line.substr(line.size() - 2) != " {")
        return std::nullopt;
    auto name = line.substr(prefix.size(), line.size() - prefix.size() - 2);
    if (name.empty()) return std::nullopt;
    for (char c : name)
        if (!(c >= 'a' && c <= 'z') && c != '_') return std::nullopt;
    return name;
}

/// A file Nagios wrote, read through its descriptor (so that its size can be checked while it
/// is read): `read` gets the stream and returns what it read.
template <class Read>
auto with_file(const std::string& path, const char* what, Read read) {
    // Never blocks on a FIFO named here (nagios.cfg's status_file is whatever the file says).
    std::string error;
    int fd = open_regular(path, error);
    if (fd < 0) throw StatusError(std::string("cannot read ") + what + " '" + path + "': " + error);
    __gnu_cxx::stdio_filebuf<char> buf(fd, std::ios::in | std::ios::binary);  // owns fd
    std::istream in(&buf);
    struct stat before {};
    if (::fstat(fd, &before) != 0 || !S_ISREG(before.st_mode))
        throw StatusError(std::string(what) + " '" + path + "' is not a regular file");
    try {
        return read(in, fd, static_cast<std::uint64_t>(before.st_size));
    } catch (const StatusError& e) {
        throw StatusError("'" + path + "': " + e.what());
    }
}

}  // namespace

StatusData read_status(std::istream& in, const ServiceFilter& keep, const Limits& limits) {
    Lines lines(in, limits, "status file");
    StatusData data;
    bool have_info = false;
    std::set<std::pair<std::string, std::string>> seen;
    std::string_view line;
    while (lines.next(line)) {
        line = trim_left(line);
        if (line.empty() || line.front() == '#') continue;
        auto block = block_start(line, "");
        if (!block) lines.fail(lines.number(), "expected the start of a block ('servicestatus {'), got '" +
                                                   printable(line, 60) + "'");
        const std::string type(*block);
        const std::size_t start = lines.number();
        // The fields heal reads; every other field is skipped unread.
        std::optional<std::string> host, service, state, checked, last_ok, created, acked, depth, author, comment,
            entry_type;
        const bool note_block = type == "servicedowntime" || type == "hostdowntime" || type == "servicecomment";
        const bool closed = read_block(lines, [&](std::string_view field_line) {
            auto eq = field_line.find('=');
            if (eq == std::string_view::npos || eq == 0)
                lines.fail(lines.number(), "expected key=value inside the " + type + " block of line " +
                                               std::to_string(start) + ", got '" +
                                               printable(field_line, 60) + "'");
            auto key = field_line.substr(0, eq);
            std::optional<std::string>* field = nullptr;
            if (type == "servicestatus") {
                if (key == "host_name") field = &host;
                else if (key == "service_description") field = &service;
                else if (key == "current_state") field = &state;
                else if (key == "has_been_checked") field = &checked;
                else if (key == "last_time_ok") field = &last_ok;
                else if (key == "problem_has_been_acknowledged") field = &acked;
                else if (key == "scheduled_downtime_depth") field = &depth;
            } else if (type == "hoststatus") {
                if (key == "host_name") field = &host;
                else if (key == "scheduled_downtime_depth") field = &depth;
            } else if (note_block) {
                if (key == "host_name") field = &host;
                else if (key == "service_description") field = &service;
                else if (key == "author") field = &author;
                else if (key == "comment" || key == "comment_data") field = &comment;
                else if (key == "entry_type") field = &entry_type;
            } else if (type == "info" && key == "created") {
                field = &created;
            }
            if (!field) return;
            if (*field) lines.fail(lines.number(), std::string(key) + " twice in one block");
            *field = std::string(field_line.substr(eq + 1));
        });
        if (!closed)
            lines.fail(start, "the " + type + " block is not closed (a truncated file?)");
        if (type == "info") {
            unsigned long long t = 0;
            if (!created || !parse_uint(*created, 1, 1ULL << 40, t))
                lines.fail(start, "the info block has no valid created= time");
            data.created = static_cast<std::int64_t>(t);
            have_info = true;
        } else if (type == "servicestatus") {
            unsigned long long st = 0, ch = 0, ok_at = 0;
            if (!host || !service || host->empty() || service->empty())
                lines.fail(start, "a servicestatus block without host_name or service_description");
            if (!state || !parse_uint(*state, 0, 3, st))
                lines.fail(start, "current_state of '" + printable(*service, 60) + "' on '" +
                                      printable(*host, 60) + "' is not 0-3");
            if (!checked || !parse_uint(*checked, 0, 1, ch))
                lines.fail(start, "has_been_checked of '" + printable(*service, 60) + "' on '" +
                                      printable(*host, 60) + "' is not 0 or 1");
            if (last_ok && !parse_uint(*last_ok, 0, 1ULL << 40, ok_at))
                lines.fail(start, "last_time_ok of '" + printable(*service, 60) + "' on '" +
                                      printable(*host, 60) + "' is not a time");
            unsigned long long ack = 0, dt = 0;
            if (acked && !parse_uint(*acked, 0, 1, ack))
                lines.fail(start, "problem_has_been_acknowledged of '" + printable(*service, 60) + "' on '" +
                                      printable(*host, 60) + "' is not 0 or 1");
            if (depth && !parse_uint(*depth, 0, 1000000, dt))
                lines.fail(start, "scheduled_downtime_depth of '" + printable(*service, 60) + "' on '" +
                                      printable(*host, 60) + "' is not a count");
            if (!seen.emplace(*host, *service).second)
                lines.fail(start, "'" + printable(*service, 60) + "' on '" + printable(*host, 60) +
                                      "' appears twice");
            if (keep(*host, *service)) {
                if (data.services.size() >= limits.max_services)
                    lines.fail(start, "more than " + std::to_string(limits.max_services) + " services");
                data.services.push_back({std::move(*host), std::move(*service),
                                         static_cast<ServiceState>(st), ch == 1,
                                         static_cast<std::int64_t>(ok_at), ack == 1, static_cast<unsigned>(dt)});
            }
        } else if (type == "hoststatus") {
            unsigned long long dt = 0;
            if (!host || host->empty()) lines.fail(start, "a hoststatus block without host_name");
            if (depth && !parse_uint(*depth, 0, 1000000, dt))
                lines.fail(start, "scheduled_downtime_depth of host '" + printable(*host, 60) + "' is not a count");
            if (dt > 0) data.host_downtime[*host] = static_cast<unsigned>(dt);
        } else if (note_block) {
            // Who and why, for the words of a hold; a note heal cannot use is skipped, not fatal.
            const bool host_note = type == "hostdowntime";
            const bool ack = type == "servicecomment";
            if (!host || (!host_note && !service) || (ack && entry_type != "4")) continue;
            if (!host_note && !keep(*host, *service)) continue;
            if (data.notes.size() >= limits.max_services) continue;
            using Kind = HumanNote::Kind;
            data.notes.push_back({host_note ? Kind::host_downtime : ack ? Kind::acknowledgement : Kind::service_downtime,
                                  std::move(*host), host_note ? std::string() : std::move(*service),
                                  author.value_or(""), comment.value_or("")});
        }
    }
    if (!have_info) throw StatusError("status file: no info block with its created= time (not a Nagios status file, or empty)");
    data.bytes = lines.total();
    return data;
}

StatusData read_status_file(const std::string& path, const ServiceFilter& keep, const Limits& limits) {
    return with_file(path, "Nagios' status file", [&](std::istream& in, int fd, std::uint64_t size) {
        auto data = read_status(in, keep, limits);
        struct stat after {};
        if (::fstat(fd, &after) != 0 || static_cast<std::uint64_t>(after.st_size) != size ||
            data.bytes != size)
            throw StatusError("status file: changed while it was read (" + std::to_string(size) + " bytes, then " +
                              std::to_string(data.bytes) + " read and " + std::to_string(after.st_size) +
                              " on disk): Nagios replaces it whole, so something else wrote it");
        return data;
    });
}

Members read_members(std::istream& in, const Group& group, const Limits& limits) {
    Lines lines(in, limits, "objects cache");
    const bool by_group = !group.servicegroup.empty();
    const std::string_view wanted = by_group ? "servicegroup" : "service";
    const std::string who = by_group ? "service group '" + printable(group.servicegroup, 60) + "'"
                                     : "services '" + printable(group.description, 60) + "'";
    Members out;
    bool group_found = false;
    auto add = [&](std::size_t start, std::string host, std::string service) {
        if (host.empty() || service.empty()) lines.fail(start, who + ": an empty member name");
        if (out.size() >= limits.max_services)
            lines.fail(start, who + ": more than " + std::to_string(limits.max_services) + " members");
        out.emplace_back(std::move(host), std::move(service));
    };
    std::string_view line;
    while (lines.next(line)) {
        line = trim_left(line);
        if (line.empty() || line.front() == '#') continue;
        auto block = block_start(line, "define ");
        if (!block) lines.fail(lines.number(), "expected 'define TYPE {', got '" + printable(line, 60) + "'");
        const bool wanted_type = *block == wanted;
        const std::size_t start = lines.number();
        // servicegroup: servicegroup_name, members; service: host_name, service_description.
        std::optional<std::string> name, value;
        const bool closed = read_block(lines, [&](std::string_view field_line) {
            if (!wanted_type) return;
            auto sep = field_line.find_first_of(" \t");
            auto key = field_line.substr(0, sep);
            auto v = sep == std::string_view::npos ? std::string_view() : trim_left(field_line.substr(sep));
            std::optional<std::string>* field = nullptr;
            if (key == (by_group ? "servicegroup_name" : "host_name")) field = &name;
            else if (key == (by_group ? "members" : "service_description")) field = &value;
            if (!field) return;
            if (*field) lines.fail(lines.number(), std::string(key) + " twice in one definition");
            *field = std::string(v);
        });
        if (!closed) lines.fail(start, "the definition is not closed (a truncated file?)");
        if (!wanted_type) continue;
        if (!by_group) {
            if (value == group.description) add(start, name.value_or(""), std::move(*value));
            continue;
        }
        if (name != group.servicegroup) continue;
        if (group_found) lines.fail(start, who + " is defined twice");
        group_found = true;
        auto items = value ? split_list(*value) : std::vector<std::string>{};
        if (items.size() % 2 != 0) lines.fail(start, who + ": members is not a list of host,service pairs");
        for (std::size_t i = 0; i < items.size(); i += 2) add(start, items[i], items[i + 1]);
    }
    if (by_group && !group_found) throw StatusError("objects cache: no " + who + " is defined");
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

Members read_members_file(const std::string& path, const Group& group, const Limits& limits) {
    return with_file(path, "Nagios' objects cache",
                     [&](std::istream& in, int, std::uint64_t) { return read_members(in, group, limits); });
}

}  // namespace heal::nagios
