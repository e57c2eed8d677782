#include "fleet/claim.hpp"

#include "common/text.hpp"

namespace heal::fleet {

Claim fleet_verdict(const FleetFacts& f, const Problem& p, const Limits& limits, std::string& remembered) {
    Claim c;
    remembered.clear();
    if (f.earlier) {
        if (f.earlier_ms >= p.last_ok_ms) {
            c.kind = Claim::Kind::already;
            c.earlier = *f.earlier;
            return c;
        }
        c.forgotten = *f.earlier;  // a finished problem's: replaced
    }
    if (p.blocked_by) {
        c.kind = Claim::Kind::blocked;
        remembered = "paged: " + *p.blocked_by;
    } else if (f.heals_in_window >= limits.budget) {
        c.kind = Claim::Kind::budget;
        c.used = f.heals_in_window;
        remembered = "paged: the fleet budget was spent";
    } else if (f.in_flight >= limits.concurrency) {
        c.used = f.in_flight;
        if (!p.last_chance) {  // the next attempt decides (and drops the stale decision then)
            c.kind = Claim::Kind::waiting;
            c.forgotten.clear();
            return c;
        }
        c.kind = Claim::Kind::concurrency;
        remembered = "paged: too many heals in flight";
    } else {
        c.kind = p.dry_run ? Claim::Kind::dry_run : Claim::Kind::heal;
        c.used = f.heals_in_window;
        remembered = p.dry_run ? "dry run: " + p.decision : p.decision;
    }
    return c;
}

std::string guard_words(const Claim& c, const std::optional<std::string>& blocked_by, const Budget& budget,
                        unsigned concurrency, const LimitNames& names) {
    switch (c.kind) {
        case Claim::Kind::blocked: return blocked_by.value_or("");
        case Claim::Kind::budget:
            return "fleet budget spent: " + std::to_string(c.used) + " heals in the last " +
                   format_duration(budget.window_s) + " (" + names.budget + " " + std::to_string(budget.limit) + "/" +
                   format_duration(budget.window_s) + ")";
        case Claim::Kind::concurrency:
        case Claim::Kind::waiting:
            return std::to_string(c.used) + (c.used == 1 ? " heal" : " heals") + " already in flight (" +
                   names.concurrency + " " + std::to_string(concurrency) + ")";
        default: return "";
    }
}

}  // namespace heal::fleet
