#include "listener/metrics.hpp"

#include "listener/diagnostics.hpp"
#include "listener/guard.hpp"
#include "common/log.hpp"
#include "listener/state_store.hpp"
#include "listener/store_thread.hpp"
#include "common/text.hpp"
#include "gen/version.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <cstdio>

namespace heal {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using asio::as_tuple;
using asio::use_awaitable;

namespace {

/// Label values as the exposition format wants them: \\, \" and \n escaped.
std::string label(std::string_view v) {
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

std::string num(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

void family(std::string& out, const char* name, const char* type, const char* help) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

const std::vector<double> duration_bounds{0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300};

}  // namespace

StoreFacts read_store_facts(ListenerState& st, const ListenerConfig& cfg,
                            const std::map<std::string, json::value>& watches) {
    StoreFacts f;
    Identity anyone;
    f.info = service_info(st, cfg, anyone, now_ms(), "", watches);
    f.up = st.store != nullptr;
    if (!st.store) return f;
    try {
        for (const auto& a : st.store->action_counts())
            f.actions += "heal_actions_total{service=\"" + label(a.service) + "\",verb=\"" + label(a.verb) +
                       "\",outcome=\"" + label(a.outcome) + "\"} " + std::to_string(a.count) + "\n";
        for (const auto& [reason, n] : st.store->refusal_counts())
            f.refusals += "heal_refusals_total{reason=\"" + label(reason) + "\"} " + std::to_string(n) + "\n";
        for (const auto& d : st.store->durations(duration_bounds)) {
            const std::string labels = "service=\"" + label(d.service) + "\",verb=\"" + label(d.verb) + "\"";
            for (std::size_t i = 0; i < duration_bounds.size(); ++i)
                f.durations += "heal_action_duration_seconds_bucket{" + labels + ",le=\"" +
                             num(duration_bounds[i]) + "\"} " + std::to_string(d.at_most[i]) + "\n";
            f.durations += "heal_action_duration_seconds_bucket{" + labels + ",le=\"+Inf\"} " +
                         std::to_string(d.count) + "\n";
            f.durations += "heal_action_duration_seconds_sum{" + labels + "} " + num(d.sum_s) + "\n";
            f.durations += "heal_action_duration_seconds_count{" + labels + "} " + std::to_string(d.count) + "\n";
        }
    } catch (const StoreError& e) {
        log::error(std::string("metrics: state store: ") + e.what());
        f.actions.clear();
        f.refusals.clear();
        f.durations.clear();
    }
    return f;
}

std::string render_metrics(ListenerState& st, const Runtime& rt, const StoreFacts& facts) {
    const ListenerConfig& cfg = rt.cfg;
    std::string out;
    family(out, "heal_build_info", "gauge", "heal-listener's version.");
    out += "heal_build_info{version=\"" + label(HEAL_VERSION) + "\"} 1\n";
    family(out, "heal_connections_open", "gauge", "TLS connections this listener process serves now.");
    out += "heal_connections_open " + std::to_string(st.connections) + "\n";
    family(out, "heal_state_store_up", "gauge", "1 when the state store is usable (heals are refused otherwise).");
    out += std::string("heal_state_store_up ") + (facts.up ? "1" : "0") + "\n";
    if (rt.cert_not_after) {
        family(out, "heal_certificate_expiry_seconds", "gauge",
               "When the listener's own certificate expires (seconds since the epoch; read again on SIGHUP).");
        out += "heal_certificate_expiry_seconds " + std::to_string(*rt.cert_not_after) + "\n";
    }
    family(out, "heal_diagnostics_bytes", "gauge", "Bytes of diagnostics kept in state_dir/diagnostics.");
    out += "heal_diagnostics_bytes " + std::to_string(diagnostics_bytes(diagnostics_dir(cfg.state_dir))) + "\n";

    // Per service, as `heal-ctl info` sees it (budget, quarantine).
    const auto& info = facts.info;
    std::string quarantined, paused, paused_until, used, limit;
    if (auto* services = info.if_contains("services"); services && services->is_array()) {
        for (const auto& v : services->as_array()) {
            const auto& s = v.as_object();
            const std::string name = label(std::string(s.at("name").as_string()));
            const bool q = s.at("quarantine").is_object();
            quarantined += "heal_quarantined{service=\"" + name + "\"} " + (q ? "1" : "0") + "\n";
            const auto& p = s.at("paused");
            paused += "heal_paused{service=\"" + name + "\"} " + (p.is_object() ? "1" : "0") + "\n";
            if (const auto* u = p.is_object() ? p.as_object().if_contains("until_epoch_s") : nullptr)
                paused_until += "heal_paused_until_seconds{service=\"" + name + "\"} " +
                                std::to_string(u->to_number<std::int64_t>()) + "\n";
            if (const auto& b = s.at("budget"); b.is_object()) {
                const auto& bo = b.as_object();
                limit += "heal_budget_limit{service=\"" + name + "\"} " +
                         std::to_string(bo.at("limit").to_number<std::int64_t>()) + "\n";
                if (auto* u = bo.if_contains("used"))
                    used += "heal_budget_used{service=\"" + name + "\"} " +
                            std::to_string(u->to_number<std::int64_t>()) + "\n";
            }
        }
    }
    family(out, "heal_quarantined", "gauge", "1 while a service is quarantined.");
    out += quarantined;
    family(out, "heal_paused", "gauge",
           "1 while a service is held: heal-ctl pause (only admins' heals run) or watch_paused (its watch loop).");
    out += paused;
    family(out, "heal_paused_until_seconds", "gauge", "When a service's hold (heal-ctl pause) ends, Unix time.");
    out += paused_until;
    family(out, "heal_budget_used", "gauge", "State-changing actions in the service's budget window.");
    out += used;
    family(out, "heal_budget_limit", "gauge", "The service's budget (absent with budget = none).");
    out += limit;

    // The watch loop, this process's own counts (they start at 0 with the daemon).
    std::string watch_runs, watch_heals, watch_failures;
    for (const auto& [service, ws] : st.watches) {
        const std::string name = label(service);
        for (const auto& [result, n] : ws.runs)
            watch_runs += "heal_watch_runs_total{service=\"" + name + "\",result=\"" + label(result) + "\"} " +
                          std::to_string(n) + "\n";
        for (const auto& [outcome, n] : ws.heals)
            watch_heals += "heal_watch_heals_total{service=\"" + name + "\",outcome=\"" + label(outcome) + "\"} " +
                           std::to_string(n) + "\n";
        if (ws.running)
            watch_failures += "heal_watch_failures{service=\"" + name + "\"} " + std::to_string(ws.count.failures) + "\n";
    }
    family(out, "heal_watch_runs_total", "counter", "Status runs of the watch loop, by service and result (ok, failed).");
    out += watch_runs;
    family(out, "heal_watch_heals_total", "counter",
           "Heals the watch loop asked for, by service and outcome (ok, failed, timed_out, refused, dry_run).");
    out += watch_heals;
    family(out, "heal_watch_failures", "gauge", "Non-OK status results in a row the watch loop has counted.");
    out += watch_failures;

    family(out, "heal_actions_total", "counter",
           "Ended start, stop and restart actions, by service, verb and outcome (kept 400 days).");
    family(out, "heal_refusals_total", "counter",
           "Refused start, stop, restart and reset requests, by reason (kept 400 days).");
    family(out, "heal_action_duration_seconds", "histogram",
           "Run time of ended actions, by service and verb.");
    // Families must be contiguous: each one's samples right after its HELP and TYPE.
    const auto insert_after = [&](const char* type_line, const std::string& samples) {
        auto at = out.find(type_line);
        if (at != std::string::npos) out.insert(at + std::string(type_line).size(), samples);
    };
    insert_after("# TYPE heal_actions_total counter\n", facts.actions);
    insert_after("# TYPE heal_refusals_total counter\n", facts.refusals);
    insert_after("# TYPE heal_action_duration_seconds histogram\n", facts.durations);
    return out;
}

asio::awaitable<void> serve_metrics(ListenerState& st, RuntimePtr rt, asio::ip::tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    const auto io_timeout = std::chrono::milliseconds(static_cast<long>(rt->cfg.io_timeout * 1000));
    beast::flat_buffer buf;
    http::request_parser<http::empty_body> parser;
    parser.header_limit(8 * 1024);
    parser.body_limit(0);
    stream.expires_after(io_timeout);
    auto [ec, n] = co_await http::async_read(stream, buf, parser, as_tuple(use_awaitable));
    if (ec) co_return;  // slow, malformed or oversized: closed, nothing else waits on it
    const auto& req = parser.get();
    http::response<http::string_body> res;
    res.version(11);
    res.keep_alive(false);
    res.set(http::field::server, "heal-listener/" HEAL_VERSION);
    if (req.target() != "/metrics") {
        res.result(http::status::not_found);
        res.set(http::field::content_type, "text/plain");
        res.body() = "only /metrics here\n";
    } else if (req.method() != http::verb::get) {
        res.result(http::status::method_not_allowed);
        res.set(http::field::allow, "GET");
        res.set(http::field::content_type, "text/plain");
        res.body() = "GET only\n";
    } else {
        res.result(http::status::ok);
        res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
        auto watches = watch_infos(st, rt->cfg);
        const StoreFacts facts = co_await on_store(st, [&] { return read_store_facts(st, rt->cfg, watches); });
        res.body() = render_metrics(st, *rt, facts);
    }
    res.prepare_payload();
    stream.expires_after(io_timeout);
    co_await http::async_write(stream, res, as_tuple(use_awaitable));
    boost::system::error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
}

}  // namespace heal
