#include "listener/watch_check.hpp"

#include "checks/verdicts.hpp"
#include "common/clock.hpp"
#include "common/plugin.hpp"
#include "common/text.hpp"
#include "gen/version.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>

namespace heal {

namespace {

using plugin::State;

std::string where(const WatchCheck& c) { return plugin::url_host(c.host) + ":" + std::to_string(c.port); }

/// The words a reply carries (one printable line of at most 200 bytes of peer text).
std::string shown(std::string_view text) { return printable(text, 200); }

/// The HTTP answer's state and why, from its status code, expected text and health document.
std::pair<State, std::string> http_verdict(const WatchCheck& c, const plugin::ProbeResult& r) {
    State state = c.codes.empty() ? plugin::default_code_state(r.status)
                                  : plugin::code_listed(c.codes, r.status) ? plugin::ok : plugin::critical;
    std::string why = state == plugin::ok ? "" : shown(r.status_line);
    if (!c.codes.empty() && state != plugin::ok) why += " (watch_codes)";
    auto add = [&](State s, const std::string& words) {
        state = plugin::worst(state, s);
        why += (why.empty() ? "" : "; ") + words;
    };
    if (!c.expect.empty() && r.body.find(c.expect) == std::string::npos)
        add(plugin::critical, "'" + shown(c.expect) + "' not found in the answer" +
                                  (r.body_over_limit ? " (its first 64 KiB)" : ""));
    if (c.health) {
        if (r.body_over_limit) {
            add(plugin::critical, "the health document is over 64 KiB");
        } else {
            auto h = plugin::evaluate_health(r.body);
            if (!h.error.empty())
                add(plugin::critical, "health document: " + shown(h.error));
            else if (h.state != plugin::ok) {
                std::string failing;
                for (const auto& f : h.failing) failing += (failing.empty() ? "" : ", ") + f;
                add(h.state, "health " + shown(h.status) + (failing.empty() ? "" : " (" + shown(failing) + ")"));
            }
        }
    }
    return {state, why};
}

}  // namespace

ActionResult check_result(const WatchCheck& c, const plugin::ProbeResult& r) {
    ActionResult a;
    a.duration_ms = std::llround(r.seconds * 1000);
    const std::string kind = c.tcp ? "TCP" : "HTTP";
    char took[32];
    std::snprintf(took, sizeof took, "%.3f s", r.seconds);
    State state = plugin::ok;
    std::string why, detail;
    if (!r.error.empty()) {
        state = plugin::critical;
        why = shown(r.error);
    } else if (c.tcp) {
        detail = c.send.empty() && c.expect.empty() ? "connected to " + where(c) : "'" + shown(r.line) + "'";
        if (!c.expect.empty() && r.line.find(c.expect) == std::string::npos) {
            state = plugin::critical;
            why = "'" + shown(c.expect) + "' not in the line '" + shown(r.line) + "' from " + where(c);
        }
    } else {
        detail = shown(r.status_line) + " - " + std::to_string(r.body_bytes) + " bytes";
        std::tie(state, why) = http_verdict(c, r);
    }
    a.exit_code = static_cast<int>(state);
    a.output = kind + " " + plugin::state_word(state) + " - " + (why.empty() ? detail : why) + " in " + std::string(took) +
               " (" + c.url + ")\n";
    if (state != plugin::ok) a.verdict = "watch_check " + std::string(plugin::state_word(state)) + ": " + why;
    return a;
}

boost::asio::awaitable<ActionResult> run_check(const WatchCheck& c, double timeout_s,
                                               std::shared_ptr<plugin::Kept> kept) {
    plugin::Target t;
    t.host = c.host;
    t.port = c.port;
    t.tls = c.tls;
    t.ca = c.ca;
    t.ca_option = "watch_ca";
    t.name_option = "the watch_check URL's host";
    const auto deadline = std::chrono::steady_clock::now() + steady_duration(timeout_s);
    plugin::ProbeResult r;
    if (c.tcp && c.send.empty() && c.expect.empty()) {
        r = co_await plugin::async_probe_connect(t, deadline);
    } else if (c.tcp) {
        r = co_await plugin::async_probe_line(t, c.send, deadline);
    } else {
        plugin::HttpRequest req;
        req.path = c.path;
        req.user_agent = "heal-listener/" HEAL_VERSION;
        req.max_body = max_check_body;
        r = co_await plugin::async_probe_http(t, req, deadline, std::move(kept));
    }
    if (r.timed_out) r.error = "no answer from " + where(c) + " within " + format_duration(timeout_s);
    co_return check_result(c, r);
}

}  // namespace heal
