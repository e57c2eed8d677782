#include "webhook_server.hpp"

#include "log.hpp"
#include "small_file.hpp"
#include "text.hpp"
#include "tls.hpp"
#include "version.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/crypto.h>

#include <csignal>
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

std::string peer_text(const tcp::endpoint& ep) {
    const auto a = ep.address();
    return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(ep.port());
}

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
        log::info("heal-alert-receiver " HEAL_VERSION " listening on https://" + peer_text(acceptor_.local_endpoint()) +
                  "/webhook (" + std::to_string(cfg_.routes.size()) + " route(s); callers prove themselves with " +
                  (cfg_.client_ca.empty() ? "" : "a client certificate") +
                  (cfg_.client_ca.empty() || token_.empty() ? "" : " and ") + (token_.empty() ? "" : "a bearer token") +
                  (cfg_.dry_run ? "; dry run" : "") + ")");
        asio::co_spawn(ioc_, accept_loop(), log::escaped);
        asio::co_spawn(ioc_, signals(), log::escaped);
        asio::co_spawn(ioc_, refresh_pages(), log::escaped);
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
            if (open_ >= max_connections) {
                log::warning("connection from " + peer_text(peer) + " closed: " + std::to_string(max_connections) +
                             " connections already open");
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
        receiver_.refused(peer_text(peer), 0, "not in [receiver] allow (further refusals of it are not logged for a minute)",
                          new_uuid());
    }

    asio::awaitable<void> connection(tcp::socket sock, tcp::endpoint peer) {
        ++open_;
        struct Count {
            unsigned& n;
            ~Count() { --n; }
        } count{open_};
        const std::string who = peer_text(peer);
        const std::string id = new_uuid();
        const auto io = std::chrono::milliseconds(to_ms(cfg_.io_timeout));
        Stream stream(std::move(sock), *ctx_);
        beast::get_lowest_layer(stream).expires_after(io);
        auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::server, as_tuple(use_awaitable));
        if (hec) {
            const long v = SSL_get_verify_result(stream.native_handle());
            receiver_.refused(who, 0,
                              "TLS handshake failed: " +
                                  (v != X509_V_OK ? std::string("client certificate: ") + X509_verify_cert_error_string(v)
                                                  : hec.message()),
                              id);
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
            receiver_.refused(who, static_cast<unsigned>(status), why, id);
        };
        if (rec == http::error::body_limit) {
            refuse(http::status::payload_too_large,
                   "the body is larger than " + std::to_string(alertmanager::max_body_bytes) + " bytes");
        } else if (rec == http::error::header_limit) {
            refuse(http::status::request_header_fields_too_large, "the headers are larger than 8 KiB");
        } else if (rec) {
            // Slow, cut short or not HTTP: nothing to answer on.
            receiver_.refused(who, 0, "no complete HTTP request: " + rec.message(), id);
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
                    Answer ans = co_await asio::co_spawn(
                        pool_, [&]() -> asio::awaitable<Answer> { co_return receiver_.webhook(req.body(), who, id); },
                        use_awaitable);
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
    unsigned open_ = 0;
    std::map<std::string, std::int64_t> denied_at_;
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
