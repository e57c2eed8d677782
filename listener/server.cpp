#include "listener/server.hpp"

#include "listener/admission.hpp"
#include "listener/diagnostics.hpp"
#include "listener/guard.hpp"
#include "common/log.hpp"
#include "listener/metrics.hpp"
#include "listener/privileges.hpp"
#include "listener/resident.hpp"
#include "listener/session.hpp"
#include "listener/store_thread.hpp"
#include "common/text.hpp"
#include "listener/watch.hpp"

#include <boost/asio.hpp>

#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <functional>
#include <list>

namespace heal {

using tcp = asio::ip::tcp;
using asio::as_tuple;
using asio::use_awaitable;

namespace {

void set_cloexec(int fd) {
    int flags = ::fcntl(fd, F_GETFD);
    if (flags >= 0) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
}

class Server {
public:
    Server(asio::io_context& ioc, std::string config_path, RuntimePtr rt)
        : ioc_(ioc), config_path_(std::move(config_path)), rt_(std::move(rt)),
          signals_(ioc, SIGTERM, SIGINT, SIGHUP) {}

    void start() {
        st_.audit = std::make_unique<AuditLog>(rt_->cfg.audit_log);
        for (const auto& ep : rt_->cfg.listen) {
            auto& acc = bind(ep);
            log::info("listening on " + endpoint_text(acc.local_endpoint()));  // port 0: the kernel's
            asio::co_spawn(ioc_, accept_loop(acc, false), log::escaped);
        }
        if (rt_->cfg.metrics_listen) {
            auto& acc = bind(*rt_->cfg.metrics_listen);
            log::info("metrics on http://" + endpoint_text(acc.local_endpoint()) + "/metrics");
            asio::co_spawn(ioc_, accept_loop(acc, true), log::escaped);
        }
        // Sockets bound, key loaded, audit log open: nothing below needs root.
        if (auto err = drop_privileges(rt_->cfg); !err.empty()) throw std::runtime_error(err);
        open_state();
        start_watches(st_, rt_, ioc_.get_executor());
        asio::co_spawn(ioc_, signals(), log::escaped);
        asio::co_spawn(ioc_, denial_flusher(), log::escaped);
    }

private:
    tcp::acceptor& bind(const tcp::endpoint& ep) {
        auto& acc = acceptors_.emplace_back(ioc_);
        boost::system::error_code ec;
        acc.open(ep.protocol());
        set_cloexec(acc.native_handle());
        acc.set_option(tcp::acceptor::reuse_address(true));
        // Lets "0.0.0.0:5669, [::]:5669" coexist; v4 peers then arrive on the v4 socket.
        if (ep.address().is_v6()) acc.set_option(asio::ip::v6_only(true));
        acc.bind(ep, ec);
        if (ec) throw std::runtime_error("cannot listen on " + endpoint_text(ep) + ": " + ec.message());
        acc.listen(1024);  // NRPE's backlog of 5 drops SYNs in a burst; we do not
        return acc;
    }

    /// A metrics connection: counted (at most max_metrics_connections at once), then served.
    asio::awaitable<void> metrics_connection(tcp::socket sock) {
        ++metrics_open_;
        struct Done {
            unsigned& n;
            ~Done() { --n; }
        } done{metrics_open_};
        co_await serve_metrics(st_, rt_, std::move(sock));
    }

    /// Says at start whether state-changing verbs will work; closes what a crash left open.
    void open_state() {
        if (!ensure_store(st_, rt_->cfg)) return;  // ensure_store said why
        try {
            st_.store->check_integrity();
            st_.store->prune(now_ms() - std::int64_t{400} * 86400 * 1000);
        } catch (const StoreError& e) {
            st_.store.reset();
            st_.store_error = e.what();
            log::error(std::string("state store unavailable: ") + e.what() +
                       "; start, stop and restart are refused (state_unavailable) until it is "
                       "fixed; status keeps working");
            return;
        }
        if (unsigned n = recover_lost(st_, rt_->cfg))
            log::warning("closed " + std::to_string(n) + " action(s) as lost: a listener died "
                         "while they ran (see the audit log)");
        log::info("state store: " + st_.store->path());
        prune_diagnostics(diagnostics_dir(rt_->cfg.state_dir), rt_->cfg.diagnostics_keep_s,
                          rt_->cfg.diagnostics_max_size);
    }

    /// Every second: writes the counts of aggregated allowlist denials once their window has
    /// ended, and after 5 s without a connection (following some) sheds the code pages the
    /// connections faulted in (resident.hpp): an idle daemon keeps only what idling runs.
    asio::awaitable<void> denial_flusher() {
        std::uint64_t seen = st_.next_connection_id, shed_at = seen;
        unsigned quiet = 0;
        while (!st_.stopping) {
            flush_timer_.expires_after(std::chrono::seconds(1));
            co_await flush_timer_.async_wait(as_tuple(use_awaitable));
            flush_denials(st_);
            quiet = st_.next_connection_id == seen && st_.connections == 0 ? quiet + 1 : 0;
            seen = st_.next_connection_id;
            if (quiet >= 5 && shed_at != seen) {
                shed_at = seen;
                shed_startup_pages();
            }
        }
        flush_denials(st_, true);
    }

    asio::awaitable<void> accept_loop(tcp::acceptor& acc, bool metrics) {
        asio::steady_timer backoff(ioc_);
        while (acc.is_open()) {
            bool pause = false;
            try {
                auto [ec, sock] = co_await acc.async_accept(as_tuple(use_awaitable));
                if (!acc.is_open() || ec == asio::error::operation_aborted) co_return;
                if (ec) {
                    // Out of descriptors or buffers is a pause, not an end.
                    log::error("accept: " + ec.message());
                    pause = true;
                } else {
                    set_cloexec(sock.native_handle());
                    boost::system::error_code pec;
                    auto peer = sock.remote_endpoint(pec);
                    if (pec) continue;
                    if (metrics) {
                        // Plain HTTP, so never the TLS listener's allowlist: its own, and a cap.
                        if (rt_->cfg.metrics_allow.allows(peer.address()) &&
                            metrics_open_ < max_metrics_connections)
                            asio::co_spawn(ioc_, metrics_connection(std::move(sock)), log::escaped);
                        continue;  // otherwise closed as `sock` goes
                    }
                    auto conn = ++st_.next_connection_id;
                    bool queued = false;
                    if (!admit(st_, *rt_, peer, conn, true, &queued)) continue;  // closed as `sock` goes
                    sock.set_option(tcp::no_delay(true), pec);
                    asio::co_spawn(ioc_, serve_connection(st_, rt_, std::move(sock), peer, conn, true, queued),
                                   log::escaped);
                }
            } catch (const std::exception& e) {
                // The accept loop never dies: whatever escaped is logged and the loop goes on.
                log::error(std::string("accept loop: ") + e.what());
                pause = true;
            }
            if (pause) {
                backoff.expires_after(std::chrono::milliseconds(100));
                co_await backoff.async_wait(as_tuple(use_awaitable));
            }
        }
    }

    /// Signals for the whole lifetime. SIGHUP reloads (while stopping: only reopens the audit
    /// log). The first SIGTERM/SIGINT stops accepting and drains; a second one is logged and
    /// changes nothing: running actions end by their own timeouts, and SIGKILL remains for
    /// whoever cannot wait (their actions are then closed as lost at the next start).
    asio::awaitable<void> signals() {
        for (;;) {
            auto [ec, sig] = co_await signals_.async_wait(as_tuple(use_awaitable));
            if (ec) co_return;  // cancelled: the drain is over
            if (sig == SIGHUP) {
                if (st_.stopping) {
                    co_await on_audit(st_, [&] { st_.audit->reopen(); });
                    log::info("SIGHUP while stopping: audit log reopened, configuration not reloaded");
                } else {
                    co_await reload();
                }
                continue;
            }
            const std::string name = sig == SIGTERM ? "SIGTERM" : "SIGINT";
            if (st_.stopping) {
                log::warning("received " + name + " again: still waiting for " +
                             std::to_string(st_.actions_in_flight) + " running action(s) to end "
                             "(each within its timeout); SIGKILL stops at once and leaves them lost");
                continue;
            }
            log::info("received " + name + ": no new connections; waiting for " +
                      std::to_string(st_.actions_in_flight) + " running action(s)");
            st_.stopping = true;
            stop_watches(st_);
            for (auto& acc : acceptors_) acc.close();
            flush_timer_.cancel();
            asio::co_spawn(ioc_, drain(), log::escaped);
        }
    }

    /// Ends the signal wait once every connection is done, so that run() can return.
    asio::awaitable<void> drain() {
        // co_spawn starts us inline: let signals() re-arm its wait first, or the cancel below
        // would find nothing to cancel and the wait would hold run() open for ever.
        co_await asio::post(ioc_, use_awaitable);
        asio::steady_timer t(ioc_);
        while (st_.connections > 0) {
            t.expires_after(std::chrono::milliseconds(20));
            co_await t.async_wait(as_tuple(use_awaitable));
        }
        signals_.cancel();
    }

    /// The audit log and the store are the store thread's: reopened and replaced there.
    asio::awaitable<void> reload() {
        // The audit log first, whatever becomes of the configuration: after logrotate moved
        // it, records must not keep going to the old file.
        co_await on_audit(st_, [&] { st_.audit->reopen(); });
        RuntimePtr next;
        try {
            next = make_runtime(config_path_);
        } catch (const std::exception& e) {
            log::error(std::string("reload failed, keeping the running configuration: ") + e.what());
            co_return;
        }
        if (next->cfg.listen != rt_->cfg.listen)
            log::warning("reload: 'listen' changed; restart heal-listener to apply it");
        if (next->cfg.user != rt_->cfg.user || next->cfg.group != rt_->cfg.group)
            log::warning("reload: 'user' or 'group' changed; restart heal-listener to apply it");
        const bool audit_kept = co_await on_audit(st_, [&] {
            if (next->cfg.audit_log == st_.audit->path()) return true;
            try {
                st_.audit = std::make_unique<AuditLog>(next->cfg.audit_log);
                return true;
            } catch (const std::exception& e) {
                log::error(std::string("reload failed, keeping the running configuration: ") + e.what());
                return false;
            }
        });
        if (!audit_kept) co_return;
        const bool new_state_dir = next->cfg.state_dir != rt_->cfg.state_dir;
        rt_ = std::move(next);
        co_await on_store(st_, [&] {
            if (new_state_dir) st_.store.reset();
            if (!st_.store) open_state();
        });
        start_watches(st_, rt_, ioc_.get_executor());  // services newly watched; the others see the change next round
        log::info("configuration reloaded from " + config_path_ + ": " +
                  std::to_string(rt_->cfg.services.size()) + " service(s)");
    }

    asio::io_context& ioc_;
    std::string config_path_;
    RuntimePtr rt_;
    ListenerState st_;
    std::list<tcp::acceptor> acceptors_;  // list: accept loops hold references
    static constexpr unsigned max_metrics_connections = 16;
    unsigned metrics_open_ = 0;
    asio::steady_timer flush_timer_{ioc_};
    asio::signal_set signals_;
};

/// Scripts are watched through pidfds (Linux 5.3+): find out at start, not at the first action.
bool probe_pidfd() {
    int fd = static_cast<int>(::syscall(SYS_pidfd_open, ::getpid(), 0));
    if (fd < 0) {
        log::error(std::string("pidfd_open: ") + std::strerror(errno) +
                   "; heal-listener needs Linux 5.3 or newer");
        return false;
    }
    ::close(fd);
    return true;
}

}  // namespace

int run_daemon(const std::string& config_path, RuntimePtr rt) {
    std::signal(SIGPIPE, SIG_IGN);
    if (!probe_pidfd()) return 1;
    asio::io_context ioc(1);
    Server server(ioc, config_path, std::move(rt));
    try {
        server.start();
    } catch (const std::exception& e) {
        log::error(e.what());
        return 1;
    }
    log::info("ready: accepting connections");  // bound, privileges dropped, state opened: tests and scripts wait for it
    shed_startup_pages();
    ioc.run();
    log::info("stopped");
    return 0;
}

int run_inetd(RuntimePtr rt) {
    std::signal(SIGPIPE, SIG_IGN);
    if (!probe_pidfd()) return 1;
    // fds 0, 1 and 2 are all the client's socket: anything written to stdout or stderr would go
    // to the peer outside TLS. Keep one duplicate for asio, point 0-2 at /dev/null (main() has
    // already sent the log to syslog).
    int sock_fd = ::fcntl(0, F_DUPFD_CLOEXEC, 3);
    int devnull = ::open("/dev/null", O_RDWR);
    if (devnull >= 0) {
        ::dup2(devnull, 0);
        ::dup2(devnull, 1);
        ::dup2(devnull, 2);
        if (devnull > 2) ::close(devnull);
    }
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (sock_fd < 0 || ::getsockname(sock_fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0 ||
        (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)) {
        log::error("--inetd: standard input is not a TCP socket");
        return 1;
    }
    asio::io_context ioc(1);
    ListenerState st;
    try {
        st.audit = std::make_unique<AuditLog>(rt->cfg.audit_log);
    } catch (const std::exception& e) {
        log::error(e.what());
        return 1;
    }
    tcp::socket sock(ioc);
    sock.assign(ss.ss_family == AF_INET6 ? tcp::v6() : tcp::v4(), sock_fd);
    boost::system::error_code ec;
    auto peer = sock.remote_endpoint(ec);
    if (ec) {
        log::error("--inetd: no peer on standard input: " + ec.message());
        return 1;
    }
    // NRPE skips its allowlist under inetd. We do not.
    if (!admit(st, *rt, peer, 1, false)) {
        st.audit_thread.join();  // the denial on record before the peer sees the connection close
        return 1;
    }
    if (auto err = drop_privileges(rt->cfg); !err.empty()) {
        log::error(err);
        return 1;
    }
    // Every instance shares the daemon's store and locks; it also closes what a crash left.
    if (ensure_store(st, rt->cfg)) recover_lost(st, rt->cfg);
    sock.set_option(tcp::no_delay(true), ec);
    // Signals for the whole (short) lifetime: TERM and INT let the one request finish, HUP
    // reopens the audit log.
    asio::signal_set sigs(ioc, SIGTERM, SIGINT, SIGHUP);
    std::function<void()> watch = [&] {
        sigs.async_wait([&](boost::system::error_code sec, int sig) {
            if (sec) return;
            if (sig == SIGHUP) asio::post(st.audit_thread, [&st] { st.audit->reopen(); });
            else log::info("--inetd: signal " + std::to_string(sig) + ": finishing the request in flight");
            watch();
        });
    };
    watch();
    asio::co_spawn(ioc, serve_connection(st, rt, std::move(sock), peer, 1, false),
                   [&](std::exception_ptr e) {
                       log::escaped(e);
                       sigs.cancel();
                   });
    ioc.run();
    return 0;
}

}  // namespace heal
