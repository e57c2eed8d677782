#include "handler/setup_check.hpp"

#include "common/client_config.hpp"
#include "fleet/store.hpp"
#include "handler/icinga2.hpp"
#include "handler/status_file.hpp"
#include "common/text.hpp"
#include "common/tls.hpp"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

namespace heal::handler {

namespace {

struct Report {
    std::ostream& out;
    int problems = 0;
    void line(bool ok, const std::string& what, const std::string& text) {
        if (!ok) ++problems;
        out << (ok ? "  ok       " : "  PROBLEM  ") << what << std::string(what.size() < 15 ? 15 - what.size() : 1, ' ')
            << text << "\n";
    }
};

std::string errno_text(int err) { return std::strerror(err); }

std::string parent_of(const std::string& path) {
    const auto slash = path.find_last_of('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

void check_status_file(Report& r, const Options& o, const std::string& from) {
    const std::string label = o.status_file + " (" + from + ")";
    try {
        const auto data = nagios::read_status_file(o.status_file, [](const std::string&, const std::string&) { return false; });
        const double age = static_cast<double>(std::time(nullptr) - data.created);
        const bool fresh = std::fabs(age) <= o.max_status_age;
        r.line(fresh, "status file",
               label + ": readable, written " + format_duration(std::fabs(age)) + (age < 0 ? " in the future" : " ago") +
                   (fresh ? "" : " (--max-status-age " + format_duration(o.max_status_age) + "): is Nagios running?"));
    } catch (const nagios::StatusError& e) {
        r.line(false, "status file", label + ": " + e.what());
    }
}

void check_objects_file(Report& r, const Options& o, const std::string& from, const std::string& service) {
    const std::string label = o.objects_file + " (" + from + ")";
    const std::string desc = !o.nagios_service.empty() ? o.nagios_service : service;
    if (desc.empty() && o.servicegroup.empty()) {
        const int fd = ::open(o.objects_file.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return r.line(false, "objects file", label + ": " + errno_text(errno));
        ::close(fd);
        return r.line(true, "objects file", label + ": readable");
    }
    try {
        const auto members = nagios::read_members_file(o.objects_file, {desc, o.servicegroup});
        const std::string group = o.servicegroup.empty() ? "'" + desc + "' services" : "services in group '" + o.servicegroup + "'";
        r.line(!members.empty(), "objects file",
               label + ": readable; " + group + ": " + std::to_string(members.size()) +
                   (members.empty() ? ": none, so no fleet guard can pass" : ""));
    } catch (const nagios::StatusError& e) {
        r.line(false, "objects file", label + ": " + e.what());
    }
}

void check_command_file(Report& r, const Options& o, const std::string& from) {
    const std::string label = o.command_file + " (" + from + ")";
    struct stat st {};
    if (::stat(o.command_file.c_str(), &st) != 0)
        return r.line(false, "command file",
                      label + ": " + errno_text(errno) + " (Nagios creates it at start when check_external_commands=1)");
    if (!S_ISFIFO(st.st_mode)) return r.line(false, "command file", label + ": not a FIFO");
    // Opening the write end without blocking tells whether Nagios reads it; nothing is written.
    const int fd = ::open(o.command_file.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        const int err = errno;
        return r.line(false, "command file",
                      label + ": " + (err == ENXIO ? std::string("no reader: is Nagios running?") : errno_text(err)));
    }
    ::close(fd);
    r.line(true, "command file", label + ": writable, Nagios reads it");
}

void check_state_dir(Report& r, const Options& o) {
    struct stat st {};
    if (::stat(o.state_dir.c_str(), &st) == 0) {
        if (!S_ISDIR(st.st_mode)) return r.line(false, "state dir", o.state_dir + ": not a directory");
        const bool ok = ::access(o.state_dir.c_str(), W_OK | X_OK) == 0;
        return r.line(ok, "state dir", o.state_dir + (ok ? ": writable" : ": not writable: " + errno_text(errno)));
    }
    if (errno != ENOENT) return r.line(false, "state dir", o.state_dir + ": " + errno_text(errno));
    const std::string parent = parent_of(o.state_dir);
    const bool ok = ::access(parent.c_str(), W_OK | X_OK) == 0;
    r.line(ok, "state dir",
           o.state_dir + (ok ? ": does not exist yet; created (mode 0700) at the first event"
                             : ": does not exist and cannot be created: " + parent + ": " + errno_text(errno)));
}

void check_client(Report& r, const Options& o, const std::string& server_name) {
    try {
        ClientOverrides over;
        if (!server_name.empty()) over.server_name = server_name;
        const ClientOptions c = client_options(o.client_config, true, over);
        const auto ctx = make_client_context(c.ca, c.cert, c.key);  // loads and matches them, as a call would
        if (!c.crl.empty())
            for (const auto& warning : add_crls(*ctx, c.crl, c.crl_refuse_stale)) r.line(true, "client config", "warning: " + warning);
        r.line(true, "client config",
               o.client_config + ": certificate " + c.cert + ", key " + c.key + ", CA " + c.ca + " loaded; port " +
                   std::to_string(c.port));
    } catch (const std::exception& e) {
        const std::string what = e.what();
        r.line(false, "client config", what.starts_with(o.client_config) ? what : o.client_config + ": " + what);
    }
}

/// The fleet store: the state folder (SQLite; the store is made at the first event, as its
/// user), and with --store-conninfo PostgreSQL too, connected, its schema made or checked and
/// the role's rights checked.
void check_store(Report& r, const Options& o) {
    check_state_dir(r, o);
    if (o.store_conninfo.empty()) return;
    for (const auto& [ok, words] : fleet::check_store(store_spec(o))) r.line(ok, "fleet store", words);
}

/// What every mode checks after its source: the fleet store, the client, the name, the log.
int finish(Report& r, const Options& o, const SetupFacts& f) {
    check_store(r, o);
    // The name the listener's certificate must carry, chosen as an event would choose it.
    const std::string host = !o.nagios_host.empty() ? o.nagios_host : f.address;
    const std::string name = !o.server_name.empty() && o.server_name.find('$') == std::string::npos ? o.server_name : host;
    check_client(r, o, name);
    if (name.empty())
        r.out << "  -        server name    give --nagios-host (or the 5 arguments) to see the certificate name for a host\n";
    else
        r.line(true, "server name",
               "the listener's certificate must name '" + name + "' (" +
                   (name == o.server_name ? "--server-name" : !o.nagios_host.empty() ? "--nagios-host" : "HOSTADDRESS") +
                   ")" + (f.address.empty() ? "" : "; connecting to " + f.address));
    r.line(true, "log", o.log_file.empty() ? "syslog (ident heal-event-handler)" : o.log_file);
    r.out << (r.problems == 0 ? "everything is usable\n"
                              : std::to_string(r.problems) + (r.problems == 1 ? " problem\n" : " problems\n"));
    return r.problems == 0 ? 0 : 1;
}

void header(std::ostream& out) {
    const passwd* pw = ::getpwuid(::geteuid());
    out << "heal-event-handler --check, as user " << (pw != nullptr ? pw->pw_name : "?") << " (uid " << ::geteuid()
        << "):\n";
}

}  // namespace

int check_setup(const Options& o, const SetupFacts& f, std::ostream& out) {
    Report r{out};
    header(out);
    if (f.where.error.empty())
        r.line(true, "nagios.cfg", f.where.source);
    else
        r.line(false, "nagios.cfg", f.where.error + " (every heal would be blocked and paged)");
    check_status_file(r, o, f.status_from);
    check_objects_file(r, o, f.objects_from, f.service);
    check_command_file(r, o, f.command_from);
    return finish(r, o, f);
}

int check_icinga2_setup(const Options& o, const icinga2::Api& api, const SetupFacts& f, std::ostream& out) {
    Report r{out};
    header(out);
    const std::string auth = api.user.empty() ? "client certificate " + api.cert : "user " + api.user + ", password from " + api.password_file;
    if (!api.password_file.empty()) {
        struct stat st {};
        if (::stat(api.password_file.c_str(), &st) == 0 && (st.st_mode & 0077) != 0)
            r.line(false, "password file", api.password_file + ": readable by others (mode " +
                                               [&] { char m[8]; std::snprintf(m, sizeof m, "%04o", st.st_mode & 07777); return std::string(m); }() +
                                               "): chmod 0600, owned by the user Nagios or Icinga runs the handler as");
    }
    const std::string desc = !o.nagios_service.empty() ? o.nagios_service : f.service;
    if (desc.empty() && api.filter.empty() && o.servicegroup.empty()) {
        r.line(true, "Icinga 2 API", api.url + " (" + auth + "): give --nagios-service (or the 5 arguments) to query the group");
    } else {
        icinga2::Source source(o, api);
        const fleet::FleetView v = source.view(o.nagios_host.empty() ? f.address : o.nagios_host, desc, true);
        const bool reached = !v.blocked_by || v.blocked_by->rfind("cannot use Icinga 2", 0) != 0;
        r.line(reached && !v.seen.empty(), "Icinga 2 API",
               api.url + " (" + auth + "): " + (v.seen.empty() ? v.blocked_by.value_or("no answer") : "answered; " + v.seen));
        if (reached && v.blocked_by && !v.seen.empty()) out << "  note     fleet guard    would block now: " << *v.blocked_by << "\n";
    }
    out << "  -        comments/pages the ApiUser's actions/add-comment and actions/send-custom-notification\n"
           "                          permissions are not tried (that would comment)\n";
    return finish(r, o, f);
}

}  // namespace heal::handler
