// One heal request over mutual TLS: connect, verify the server, send, read the reply.
// Never retries and never re-sends: a "restart" must run at most once per call.
#pragma once

#include "common/cert_validity.hpp"
#include "common/protocol.hpp"

#include <optional>
#include <string>
#include <vector>

namespace heal {

struct ClientOptions {
    std::string host = "localhost";
    unsigned short port = default_port;
    std::string server_name;  ///< name the certificate must carry; host when empty
    std::string cert, key, ca;
    std::string crl;                ///< PEM CRLs the listener's certificate is checked against
    bool crl_refuse_stale = false;  ///< a CRL past its next update fails the call
    std::string bind;      ///< local source address, optional
    double timeout = 30;   ///< seconds, for the whole exchange
};

struct CallResult {
    bool answered = false;  ///< false: connect, TLS, timeout or protocol failure
    std::string error;      ///< why there was no answer
    Reply reply;
    std::optional<CertValidity> server_cert;  ///< the listener's certificate's dates
    std::vector<std::string> warnings;     ///< e.g. a CRL past its next update
};

/// Sends `request_line` (already formatted, ending in "\n") and waits for the reply.
CallResult call_listener(const ClientOptions& options, const std::string& request_line);

}  // namespace heal
