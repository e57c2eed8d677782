#include "checks/listener_info.hpp"

#include "common/json_get.hpp"

#include <algorithm>
#include <optional>
#include <vector>

namespace heal::plugin {

namespace json = boost::json;

InfoJudged judge_info(Result& res, const json::object& info, const std::set<std::string>& wanted) {
    std::string state = heal::json_text(info, "state");
    if (!state.empty() && state != "ok")
        res.raise(critical, "state store " + state + ": heals are refused");

    unsigned shown = 0, watched = 0;
    std::set<std::string> seen;
    // Perfdata worst first (quarantined, then over half a budget, then refused), so that when
    // thousands of services pass Nagios' 8 KiB, the items cut are those of healthy services.
    struct Perf {
        int rank;
        std::vector<heal::plugin::Perfdata> items;
    };
    std::vector<Perf> perf;
    const auto* services = info.if_contains("services");
    if (services && services->is_array()) {
        for (const auto& v : services->as_array()) {
            if (!v.is_object()) continue;
            const auto& s = v.as_object();
            const std::string name = heal::json_text(s, "name");
            if (!wanted.empty() && !wanted.count(name)) continue;
            seen.insert(name);
            ++shown;
            int rank = 0;
            if (const auto* q = s.if_contains("quarantine"); q && q->is_object()) {
                rank = 3;
                res.raise(critical, name + " quarantined since " + heal::json_text(q->as_object(), "since") + ": " +
                                        heal::json_text(q->as_object(), "why"));
            }
            if (const auto* p = s.if_contains("paused"); p && p->is_object()) {
                rank = std::max(rank, 2);
                const auto& po = p->as_object();
                const auto* all = po.if_contains("all");
                const bool host = all && all->is_bool() && all->as_bool();
                res.raise(warning, heal::paused_words(po, name) +
                                       (po.if_contains("until") && po.at("until").is_string()
                                            ? " (heal-ctl resume " + (host ? std::string("--all") : name) + ")"
                                            : ""));
            }
            std::optional<std::int64_t> used, limit;
            if (const auto* b = s.if_contains("budget"); b && b->is_object()) {
                used = heal::json_int(b->as_object(), "used");
                limit = heal::json_int(b->as_object(), "limit");
            }
            if (used && limit && *limit > 0 && *used * 2 > *limit) {
                rank = std::max(rank, 2);
                res.raise(warning, name + " used " + std::to_string(*used) + " of its budget of " +
                                       std::to_string(*limit));
            }
            // More than half the budget warns: the warning threshold is limit / 2 actions.
            Perf p{rank, {}};
            p.items.push_back({name + "_actions", used ? std::to_string(*used) : "U", "",
                               limit ? std::to_string(*limit / 2) : "", "", "0",
                               limit ? std::to_string(*limit) : ""});
            if (limit) p.items.push_back({name + "_budget", std::to_string(*limit), "", "", "", "0", ""});
            auto refusals = heal::json_int(s, "refusals");
            p.items.push_back({name + "_refusals", refusals ? std::to_string(*refusals) : "U", "c", "", "", "0", ""});
            if (refusals && *refusals > 0) p.rank = std::max(p.rank, 1);
            if (const auto* w = s.if_contains("watch"); w && w->is_object()) {
                ++watched;
                const auto failures = heal::json_int(w->as_object(), "failures");
                const auto after = heal::json_int(w->as_object(), "heal_after");
                p.items.push_back({name + "_watch_failures", failures ? std::to_string(*failures) : "U", "", "",
                                   after ? std::to_string(*after) : "", "0", ""});
            }
            perf.push_back(std::move(p));
        }
    }
    for (const auto& want : wanted)
        if (!seen.count(want)) res.raise(unknown, "no service " + want + " on this listener");

    std::stable_sort(perf.begin(), perf.end(), [](const Perf& a, const Perf& b) { return a.rank > b.rank; });
    InfoJudged out;
    out.shown = shown;
    out.watched = watched;
    for (auto& p : perf)
        for (auto& item : p.items) out.perf.push_back(std::move(item));
    return out;
}

void finish_info(Result& res, InfoJudged judged, const std::string& host) {
    const unsigned shown = judged.shown, watched = judged.watched;
    for (auto& item : judged.perf) res.add_perf(std::move(item));
    if (res.state() == State::ok)
        res.set(State::ok, std::to_string(shown) + " service(s) on " + host + ", none quarantined, budgets " +
                               "at most half used" + (watched ? ", " + std::to_string(watched) + " watched here" : ""));
    else if (res.summary().empty())
        res.set(res.state(), std::to_string(shown) + " service(s) on " + host);
}

}  // namespace heal::plugin
