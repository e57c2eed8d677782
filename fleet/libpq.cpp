#include "fleet/libpq.hpp"

#include "fleet/store.hpp"

#include <dlfcn.h>

#include <mutex>
#include <string>

namespace heal::fleet {

namespace {

template <class F>
void bind(void* lib, F& fn, const char* name, std::string& missing) {
    fn = reinterpret_cast<F>(::dlsym(lib, name));
    if (!fn) missing += std::string(missing.empty() ? "" : ", ") + name;
}

}  // namespace

const Libpq& pq() {
    static Libpq lib;
    static std::string error;
    static std::once_flag once;
    std::call_once(once, [] {
        void* h = ::dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            const char* why = ::dlerror();
            error = "cannot load libpq (apt-get install libpq5): " + std::string(why ? why : "dlopen failed");
            return;
        }
        std::string missing;
        bind(h, lib.PQclear, "PQclear", missing);
        bind(h, lib.PQcmdTuples, "PQcmdTuples", missing);
        bind(h, lib.PQconnectdbParams, "PQconnectdbParams", missing);
        bind(h, lib.PQconninfoFree, "PQconninfoFree", missing);
        bind(h, lib.PQconninfoParse, "PQconninfoParse", missing);
        bind(h, lib.PQdb, "PQdb", missing);
        bind(h, lib.PQerrorMessage, "PQerrorMessage", missing);
        bind(h, lib.PQexec, "PQexec", missing);
        bind(h, lib.PQexecParams, "PQexecParams", missing);
        bind(h, lib.PQfinish, "PQfinish", missing);
        bind(h, lib.PQfreemem, "PQfreemem", missing);
        bind(h, lib.PQgetisnull, "PQgetisnull", missing);
        bind(h, lib.PQgetvalue, "PQgetvalue", missing);
        bind(h, lib.PQhost, "PQhost", missing);
        bind(h, lib.PQntuples, "PQntuples", missing);
        bind(h, lib.PQparameterStatus, "PQparameterStatus", missing);
        bind(h, lib.PQport, "PQport", missing);
        bind(h, lib.PQresultErrorMessage, "PQresultErrorMessage", missing);
        bind(h, lib.PQresultStatus, "PQresultStatus", missing);
        bind(h, lib.PQsslAttribute, "PQsslAttribute", missing);
        bind(h, lib.PQsslInUse, "PQsslInUse", missing);
        bind(h, lib.PQstatus, "PQstatus", missing);
        bind(h, lib.PQtransactionStatus, "PQtransactionStatus", missing);
        bind(h, lib.PQuser, "PQuser", missing);
        if (!missing.empty()) error = "libpq.so.5 lacks " + missing + ": too old (PostgreSQL 10 or later's)";
    });
    if (!error.empty()) throw StoreError("the PostgreSQL fleet store: " + error);
    return lib;
}

}  // namespace heal::fleet
