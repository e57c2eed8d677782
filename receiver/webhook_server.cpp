#include "receiver/webhook_server.hpp"

#include "common/address.hpp"
#include "common/log.hpp"
#include "common/small_file.hpp"
#include "common/text.hpp"
#include "common/tls.hpp"
#include "gen/version.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/crypto.h>

#include <atomic>
#include <csignal>
#include <deque>
#include <mutex>
#include <optional>
#include <fstream>
#include <map>

namespace heal::receiver {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using asio::as_tuple;
using asio::use_awaitable;

std::string read_token(const std::string& path) {
    std::string token;
    if (auto err = read_first_line(path, 4096, token); !err.empty())
        throw std::runtime_error("token_file " + path + ": cannot be read: " + err);
    if (token.size() < 16) throw std::runtime_error("token_file " + path + ": its first line is shorter than 16 characters");
    return token;
}

bool bearer_matches(std::string_view authorization, const std::string& token) {
    constexpr std::string_view scheme = "Bearer ";
    if (authorization.size() != scheme.size() + token.size()) return false;
    // The scheme is case-insensitive (RFC 9110); the token is compared in constant time.
    for (std::size_t i = 0; i < scheme.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(authorization[i])) != std::tolower(static_cast<unsigned char>(scheme[i])))
            return false;
    return CRYPTO_memcmp(authorization.data() + scheme.size(), token.data(), token.size()) == 0;
}

namespace {

using Stream = beast::ssl_stream<beast::tcp_stream>;

/// The address as people write it: a v4-mapped IPv6 address (::ffff:a.b.c.d) as IPv4.
std::string address_text(const asio::ip::address& a) { return unmap(a).to_string(); }

constexpr std::int64_t refusal_window_ms = 10'000;

/// Refusals of one address and kind in a window: the first written, the rest counted by reason.
struct Window {
    std::int64_t until_ms = 0;
    unsigned suppressed = 0;
    std::map<std::string, unsigned> why;
};

class Server {
public:
    Server(asio::io_context& ioc, Receiver& receiver)
        : ioc_(ioc), receiver_(receiver), cfg_(receiver.config()), pool_(worker_threads),
          signals_(ioc, SIGTERM, SIGINT, SIGHUP), acceptor_(ioc), refresh_(ioc) {
        ctx_ = cfg_.client_ca.empty() ? server_context_without_client_certificates(cfg_.cert, cfg_.key)
                                      : make_server_context(cfg_.cert, cfg_.key, cfg_.client_ca);
        if (!cfg_.token_file.empty()) token_ = read_token(cfg_.token_file);
        acceptor_.open(cfg_.listen.protocol());
        acceptor_.set_option(tcp::acceptor::reuse_address(true));
        if (cfg_.listen.address().is_v6()) acceptor_.set_option(asio::ip::v6_only(false));
        acceptor_.bind(cfg_.listen);
        acceptor_.listen();
    }

    void start() {
        log::info("heal-alert-receiver " HEAL_VERSION " listening on https://" + endpoint_text(acceptor_.local_endpoint()) +
                  "/webhook (" + std::to_string(cfg_.routes.size()) + " route(s); callers prove themselves with " +
                  (cfg_.client_ca.empty() ? "" : "a client certificate") +
                  (cfg_.client_ca.empty() || token_.empty() ? "" : " and ") + (token_.empty() ? "" : "a bearer token") +
                  (cfg_.dry_run ? "; dry run" : "") + ")");
        asio::co_spawn(ioc_, accept_loop(), log::escaped);
        asio::co_spawn(ioc_, signals(), log::escaped);
        asio::co_spawn(ioc_, refresh_pages(), log::escaped);
        asio::co_spawn(ioc_, flush_loop(), log::escaped);
    }

    void join() { pool_.join(); }

private:
    asio::awaitable<void> signals() {
        for (;;) {
            auto [ec, sig] = co_await signals_.async_wait(as_tuple(use_awaitable));
            if (ec) co_return;
            if (sig == SIGHUP) {
                // Off the io thread: the audit lock may be held by a decision in progress.
                co_await asio::co_spawn(pool_, [this]() -> asio::awaitable<void> {
                    receiver_.reopen_audit();
                    co_return;
                }, use_awaitable);
                continue;
            }
            log::info(std::string("received ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") +
                      ": no new connections; " + std::to_string(open_) + " in progress finish");
            boost::system::error_code ignored;
            acceptor_.close(ignored);
            signals_.cancel();
            refresh_.cancel();
            flusher_.cancel();
            for (auto& w : queue_)
                if (auto t = w.first.lock()) t->cancel();
            co_return;
        }
    }

    /// The pages of open problems, posted again before they would end by themselves.
    asio::awaitable<void> refresh_pages() {
        for (;;) {
            refresh_.expires_after(std::chrono::seconds(page_refresh_s));
            auto [ec] = co_await refresh_.async_wait(as_tuple(use_awaitable));
            if (ec || !acceptor_.is_open()) co_return;
            co_await asio::co_spawn(pool_, [this]() -> asio::awaitable<void> {
                receiver_.refresh_pages();
                co_return;
            }, use_awaitable);
        }
    }

    asio::awaitable<void> accept_loop() {
        asio::steady_timer backoff(ioc_);
        while (acceptor_.is_open()) {
            auto [ec, sock] = co_await acceptor_.async_accept(as_tuple(use_awaitable));
            if (!acceptor_.is_open() || ec == asio::error::operation_aborted) co_return;
            if (ec) {
                log::error("accept: " + ec.message());  // out of descriptors: a pause, not an end
                backoff.expires_after(std::chrono::milliseconds(100));
                co_await backoff.async_wait(as_tuple(use_awaitable));
                continue;
            }
            boost::system::error_code pec;
            const auto peer = sock.remote_endpoint(pec);
            if (pec) continue;
            if (!cfg_.allow.allows(peer.address())) {
                denied(peer);
                continue;  // closed before any TLS work
            }
            if (open_ + waiting_ >= max_connections + max_waiting) {
                refusal(peer, "busy", "connections closed before TLS: " + std::to_string(max_connections) +
                                          " served and " + std::to_string(max_waiting) + " waiting already");
                continue;
            }
            asio::co_spawn(ioc_, connection(std::move(sock), peer), log::escaped);
        }
    }

    /// A peer outside the allowlist: logged and audited once a minute per address.
    void denied(const tcp::endpoint& peer) {
        const auto now = now_ms();
        const std::string addr = peer.address().to_string();
        if (denied_at_.size() >= 10000) denied_at_.clear();
        auto& last = denied_at_[addr];
        if (last != 0 && now - last < 60'000) return;
        last = now;
        receiver_.refused_later(endpoint_text(peer), 0, "not in [receiver] allow (further refusals of it are not logged for a minute)",
                          new_uuid());
    }

    /// A refusal before the request was read (busy, a failed handshake, no HTTP, a wrong token):
    /// the first of an address and kind in a 10 s window is logged and audited at once, the
    /// rest are counted (per reason) into one record when the window ends, so a flood from an
    /// allowed address can fill neither the log nor the disk.
    void refusal(const tcp::endpoint& peer, const std::string& kind, const std::string& why, unsigned status = 0,
                 const std::string& id = "") {
        const auto now = now_ms();
        const std::string addr = address_text(peer.address());
        auto& w = windows_[{addr, kind}];
        if (w.until_ms != 0 && now < w.until_ms) {
            ++w.suppressed;
            ++w.why[w.why.count(why) || w.why.size() < 8 ? why : "other"];
            if (status == 0) receiver_.answered(0);  // an HTTP answer is counted by its caller
            return;
        }
        flush(addr, kind, w);
        w = Window{now + refusal_window_ms, 0, {}};
        receiver_.refused_later(endpoint_text(peer), status, why, id.empty() ? new_uuid() : id);
    }

    void flush(const std::string& addr, const std::string& kind, Window& w) {
        if (w.suppressed == 0) return;
        std::string reasons;
        for (const auto& [why, n] : w.why) reasons += (reasons.empty() ? "" : "; ") + std::to_string(n) + "x " + why;
        receiver_.refused_later(addr, 0, std::to_string(w.suppressed) + " more refusal(s) (" + kind + ") from " + addr +
                                       " in " + format_duration(refusal_window_ms / 1000.0) + ": " + reasons,
                          new_uuid());
        w.suppressed = 0;
        w.why.clear();
    }

    void flush_windows(bool all) {
        const auto now = now_ms();
        for (auto it = windows_.begin(); it != windows_.end();) {
            if (!all && now < it->second.until_ms) {
                ++it;
                continue;
            }
            flush(it->first.first, it->first.second, it->second);
            it = windows_.erase(it);
        }
    }

    asio::awaitable<void> flush_loop() {
        for (;;) {
            flusher_.expires_after(std::chrono::milliseconds(refusal_window_ms));
            auto [ec] = co_await flusher_.async_wait(as_tuple(use_awaitable));
            flush_windows(ec || !acceptor_.is_open());
            if (ec || !acceptor_.is_open()) co_return;
        }
    }

    /// A slot to be served in, waiting (in order of arrival, within io_timeout) while all
    /// max_connections are in use or the address has its max_per_address: false when the
    /// deadline passed first.
    asio::awaitable<bool> slot(const std::string& addr, std::chrono::steady_clock::time_point deadline) {
        auto free_for = [&] { return open_ < max_connections && per_address_[addr] < max_per_address; };
        if (!free_for()) {
            ++waiting_;
            struct Waiting {
                unsigned& n;
                ~Waiting() { --n; }
            } w{waiting_};
            auto turn = std::make_shared<asio::steady_timer>(ioc_, deadline);
            queue_.push_back({turn, addr});
            for (;;) {
                auto [ec] = co_await turn->async_wait(as_tuple(use_awaitable));
                if (!ec || !acceptor_.is_open()) co_return false;
                if (free_for()) break;
                turn->expires_at(deadline);
                queue_.push_front({turn, addr});
            }
        }
        ++open_;
        ++per_address_[addr];
        co_return true;
    }

    void release(const std::string& addr) {
        --open_;
        if (--per_address_[addr] == 0) per_address_.erase(addr);
        for (auto it = queue_.begin(); it != queue_.end();) {
            auto turn = it->first.lock();
            if (!turn) {
                it = queue_.erase(it);
                continue;
            }
            if (per_address_[it->second] < max_per_address) {
                queue_.erase(it);
                turn->cancel();
                break;
            }
            if (per_address_[it->second] == 0) per_address_.erase(it->second);
            ++it;
        }
    }

    /// POST /webhook's decision, on a worker thread, answered within answer_within_s whatever
    /// Prometheus, the listeners or Alertmanager do: decided by then, its answer; still
    /// deciding, 202 (it goes on, audited); not started by then (the workers busy), 503 and
    /// dropped: Alertmanager sends it again. More than max_pending waiting: 503 at once.
    asio::awaitable<Answer> decide(std::string body, std::string who, std::string id) {
        if (pending_ >= max_pending)
            co_return Answer{503, "busy: " + std::to_string(max_pending) + " webhook calls already wait; send again\n"};
        struct Job {
            std::mutex m;
            bool started = false, abandoned = false;
            std::optional<Answer> answer;
        };
        auto job = std::make_shared<Job>();
        auto done = std::make_shared<asio::steady_timer>(ioc_, std::chrono::seconds(answer_within_s));
        ++pending_;
        asio::post(pool_, [this, job, done, body = std::move(body), who, id] {
            {
                std::lock_guard lock(job->m);
                if (job->abandoned) {
                    asio::post(ioc_, [this] { --pending_; });
                    return;  // its caller was answered 503 and will send it again
                }
                job->started = true;
            }
            Answer a = receiver_.webhook(body, who, id);
            asio::post(ioc_, [this, job, done, a = std::move(a)]() mutable {
                --pending_;
                std::lock_guard lock(job->m);
                job->answer = std::move(a);
                done->cancel();
            });
        });
        co_await done->async_wait(as_tuple(use_awaitable));
        std::lock_guard lock(job->m);
        if (job->answer) co_return std::move(*job->answer);
        if (!job->started) {
            job->abandoned = true;
            co_return Answer{503, "busy: not started within " + std::to_string(answer_within_s) +
                                      " s (the workers wait on Prometheus or the listeners); send again\n"};
        }
        log::warning("request " + id + " from " + who + ": still deciding after " + std::to_string(answer_within_s) +
                     " s; answered 202, the decision goes on (audited)");
        co_return Answer{202, "accepted: still deciding after " + std::to_string(answer_within_s) +
                                  " s; the audit log has the outcome (request " + id + ")\n"};
    }

    asio::awaitable<void> connection(tcp::socket sock, tcp::endpoint peer) {
        const std::string addr = address_text(peer.address());
        const auto io = std::chrono::milliseconds(to_ms(cfg_.io_timeout));
        if (!co_await slot(addr, std::chrono::steady_clock::now() + io)) {
            refusal(peer, "busy", "closed before TLS: no free connection within io_timeout (" +
                                      std::to_string(max_connections) + " in all, " + std::to_string(max_per_address) +
                                      " per address)");
            co_return;
        }
        struct Release {
            Server& s;
            std::string addr;
            ~Release() { s.release(addr); }
        } release_at_end{*this, addr};
        const std::string who = endpoint_text(peer);
        const std::string id = new_uuid();
        Stream stream(std::move(sock), *ctx_);
        beast::get_lowest_layer(stream).expires_after(io);
        auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::server, as_tuple(use_awaitable));
        if (hec) {
            const long v = SSL_get_verify_result(stream.native_handle());
            refusal(peer, "tls", "TLS handshake failed: " +
                                     (v != X509_V_OK ? std::string("client certificate: ") + X509_verify_cert_error_string(v)
                                                     : hec.message()),
                    0, id);
            co_return;
        }
        beast::flat_buffer buf;
        http::request_parser<http::string_body> parser;
        parser.header_limit(8 * 1024);
        parser.body_limit(alertmanager::max_body_bytes);
        beast::get_lowest_layer(stream).expires_after(io);
        auto [rec, n] = co_await http::async_read(stream, buf, parser, as_tuple(use_awaitable));
        http::response<http::string_body> res;
        res.version(11);
        res.keep_alive(false);
        res.set(http::field::server, "heal-alert-receiver/" HEAL_VERSION);
        res.set(http::field::content_type, "text/plain; charset=utf-8");
        auto refuse = [&](http::status status, const std::string& why) {
            res.result(status);
            res.body() = "refused: " + why + "\n";
            refusal(peer, "http " + std::to_string(static_cast<unsigned>(status)), why, static_cast<unsigned>(status), id);
        };
        if (rec == http::error::body_limit) {
            refuse(http::status::payload_too_large,
                   "the body is larger than " + std::to_string(alertmanager::max_body_bytes) + " bytes");
        } else if (rec == http::error::header_limit) {
            refuse(http::status::request_header_fields_too_large, "the headers are larger than 8 KiB");
        } else if (rec) {
            // Slow, cut short or not HTTP: nothing to answer on.
            refusal(peer, "http", "no complete HTTP request: " + rec.message(), 0, id);
            co_return;
        } else {
            const auto& req = parser.get();
            const std::string target(req.target());
            if (!token_.empty() && !bearer_matches(req[http::field::authorization], token_)) {
                refuse(http::status::unauthorized, "no or a wrong bearer token (Authorization: Bearer <token_file's line>)");
                res.set(http::field::www_authenticate, "Bearer");
            } else if (target == "/webhook") {
                if (req.method() != http::verb::post) {
                    refuse(http::status::method_not_allowed, "POST only on /webhook");
                    res.set(http::field::allow, "POST");
                } else {
                    Answer ans = co_await decide(req.body(), who, id);
                    res.result(static_cast<http::status>(ans.status));
                    res.body() = std::move(ans.body);
                }
            } else if (target == "/metrics" || target == "/-/healthy") {
                if (req.method() != http::verb::get) {
                    refuse(http::status::method_not_allowed, "GET only on " + target);
                    res.set(http::field::allow, "GET");
                } else if (target == "/metrics") {
                    res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
                    res.body() = receiver_.metrics();
                } else {
                    res.body() = "ok\n";
                }
            } else {
                refuse(http::status::not_found, "no such path " + printable(target, 100) +
                                                    " (POST /webhook, GET /metrics, GET /-/healthy)");
            }
        }
        res.set("X-Heal-Request-Id", id);
        res.prepare_payload();
        receiver_.answered(res.result_int());
        beast::get_lowest_layer(stream).expires_after(io);
        co_await http::async_write(stream, res, as_tuple(use_awaitable));
        co_await stream.async_shutdown(as_tuple(use_awaitable));
    }

    asio::io_context& ioc_;
    Receiver& receiver_;
    const Config& cfg_;
    asio::thread_pool pool_;
    asio::signal_set signals_;
    tcp::acceptor acceptor_;
    asio::steady_timer refresh_;
    std::shared_ptr<asio::ssl::context> ctx_;
    std::string token_;
    unsigned open_ = 0, waiting_ = 0;
    std::atomic<unsigned> pending_{0};  ///< webhook calls posted to the workers, not yet decided
    std::map<std::string, unsigned> per_address_;
    std::deque<std::pair<std::weak_ptr<asio::steady_timer>, std::string>> queue_;
    std::map<std::string, std::int64_t> denied_at_;
    std::map<std::pair<std::string, std::string>, Window> windows_;
    asio::steady_timer flusher_{ioc_};
};

}  // namespace

int serve(Receiver& receiver) {
    asio::io_context ioc(1);
    Server server(ioc, receiver);
    server.start();
    ioc.run();
    server.join();
    log::info("heal-alert-receiver stopped");
    return 0;
}

}  // namespace heal::receiver
