// make bench: one decision in the fleet store as a decider makes it (open the store, claim the
// problem, record the heal's end), N times, in SQLite (a state folder) and in PostgreSQL on
// loopback over TLS (scripts/heal-pg-sandbox); prints the median and p99 of each.
//   store-bench STATE_DIR CONNINFO_FILE [N]
#include "fleet/pg_store.hpp"
#include "fleet/sqlite_store.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

using namespace heal;

namespace {

/// `n` decisions, each on a store `open` opens (kept: `reuse`, the claim alone is timed).
std::vector<double> decisions(const std::function<std::unique_ptr<fleet::Store>()>& open, int n, bool reuse = false) {
    std::vector<double> ms;
    const std::int64_t t0 = 1'800'000'000'000 + (reuse ? 10'000'000 : 0);
    std::unique_ptr<fleet::Store> kept = reuse ? open() : nullptr;
    for (int i = 0; i < n; ++i) {
        const auto start = std::chrono::steady_clock::now();
        auto store = reuse ? std::move(kept) : open();
        const auto c = store->claim({.host = "web" + std::to_string(i), .service = "worker", .decision = "restart",
                                     .now_ms = t0 + i, .deadline_ms = t0 + i + 30'000},
                                    {1'000'000, 3'600'000, 1'000'000});
        if (c.kind == fleet::Claim::Kind::heal) store->finish(c.heal_id, t0 + i + 1, "ok", "bench");
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
        if (reuse) kept = std::move(store);
    }
    std::sort(ms.begin(), ms.end());
    return ms;
}

void print(const char* what, const std::vector<double>& ms) {
    const auto at = [&](double q) { return ms[std::min(ms.size() - 1, static_cast<std::size_t>(q * ms.size()))]; };
    std::printf("%-44s median %6.2f ms, p99 %6.2f ms (%zu decisions)\n", what, at(0.5), at(0.99), ms.size());
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: store-bench STATE_DIR CONNINFO_FILE [N]\n");
        return 2;
    }
    const std::string dir = argv[1], conninfo = argv[2];
    const int n = argc > 3 ? std::atoi(argv[3]) : 500;
    try {
        print("fleet store decision, SQLite (state folder):",
              decisions([&] { return std::make_unique<fleet::SqliteStore>(dir, "bench.db"); }, n));
        print("fleet store decision, PostgreSQL (loopback, TLS):",
              decisions([&] { return std::make_unique<fleet::PgStore>(conninfo); }, n));
        print("  the same on an open connection (claim alone):",
              decisions([&] { return std::make_unique<fleet::PgStore>(conninfo); }, n, true));
        print("  SQLite on an open file (claim alone):",
              decisions([&] { return std::make_unique<fleet::SqliteStore>(dir, "bench.db"); }, n, true));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "store-bench: %s\n", e.what());
        return 1;
    }
    std::printf("each: the store opened as a decider opens it per event (PostgreSQL: TCP, TLS, SCRAM), the problem\n"
                "claimed, the heal's end recorded; on an open store, the claim and the end alone\n");
    return 0;
}
