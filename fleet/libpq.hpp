// libpq, loaded when a decider first uses the PostgreSQL fleet store (dlopen), not linked: its
// dependencies (Kerberos, LDAP, GnuTLS, p11-kit) cost every process ~8 ms of CPU at start, and
// heal-event-handler starts once per event (a wide outage starts hundreds at once) while most
// deciders keep their store in SQLite.
#pragma once

#include <libpq-fe.h>

namespace heal::fleet {

/// The libpq functions heal uses, from libpq.so.5.
struct Libpq {
    decltype(&::PQclear) PQclear = nullptr;
    decltype(&::PQcmdTuples) PQcmdTuples = nullptr;
    decltype(&::PQconnectdbParams) PQconnectdbParams = nullptr;
    decltype(&::PQconninfoFree) PQconninfoFree = nullptr;
    decltype(&::PQconninfoParse) PQconninfoParse = nullptr;
    decltype(&::PQdb) PQdb = nullptr;
    decltype(&::PQerrorMessage) PQerrorMessage = nullptr;
    decltype(&::PQexec) PQexec = nullptr;
    decltype(&::PQexecParams) PQexecParams = nullptr;
    decltype(&::PQfinish) PQfinish = nullptr;
    decltype(&::PQfreemem) PQfreemem = nullptr;
    decltype(&::PQgetisnull) PQgetisnull = nullptr;
    decltype(&::PQgetvalue) PQgetvalue = nullptr;
    decltype(&::PQhost) PQhost = nullptr;
    decltype(&::PQntuples) PQntuples = nullptr;
    decltype(&::PQparameterStatus) PQparameterStatus = nullptr;
    decltype(&::PQport) PQport = nullptr;
    decltype(&::PQresultErrorMessage) PQresultErrorMessage = nullptr;
    decltype(&::PQresultStatus) PQresultStatus = nullptr;
    decltype(&::PQsslAttribute) PQsslAttribute = nullptr;
    decltype(&::PQsslInUse) PQsslInUse = nullptr;
    decltype(&::PQstatus) PQstatus = nullptr;
    decltype(&::PQtransactionStatus) PQtransactionStatus = nullptr;
    decltype(&::PQuser) PQuser = nullptr;
};

/// libpq, loaded at the first call (then kept); throws StoreError when it cannot be loaded
/// ("apt-get install libpq5").
const Libpq& pq();

}  // namespace heal::fleet
