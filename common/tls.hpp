// TLS context setup shared by heal-listener, heal-ctl and the check plugins.
// Policy lives here once: TLS 1.2 minimum, no compression, no renegotiation, peers verified.
#pragma once

#include "common/cert_validity.hpp"

#include <boost/asio/ssl.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace heal {

namespace ssl = boost::asio::ssl;

struct TlsError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// The OpenSSL error queue as one line (and cleared), or `fallback` when it is empty.
std::string openssl_errors(const std::string& fallback = "unknown error");

/// Server side: our certificate and key, and the CA that client certificates must chain to.
/// Throws TlsError naming the OpenSSL call and file, e.g.
/// "SSL_CTX_use_PrivateKey_file(/etc/heal/key.pem): no such file".
std::shared_ptr<ssl::context> make_server_context(const std::string& cert, const std::string& key,
                                                  const std::string& client_ca);

/// Server side for a caller that proves itself otherwise (heal-alert-receiver with a bearer
/// token only): the same policy, no client certificate asked for. Never for heal-listener.
std::shared_ptr<ssl::context> server_context_without_client_certificates(const std::string& cert,
                                                                         const std::string& key);

/// Client side: verify the server against `ca` (or the system store when empty);
/// present `cert`/`key` when given. `verify = false` is only for check plugins' --insecure.
std::shared_ptr<ssl::context> make_client_context(const std::string& ca, const std::string& cert,
                                                  const std::string& key, bool verify = true);

/// Certificate revocation lists for the peer's certificate: `file` holds one or more PEM CRLs,
/// one for every CA the context trusts (a CA without one would fail every certificate it
/// signed, so that is an error here, naming it); each must be signed by its CA. Afterwards a
/// revoked peer certificate fails verification ("certificate revoked"). A CRL past its next
/// update is a warning in the returned list, and accepted, unless `refuse_stale`: then
/// verification fails ("CRL has expired") until a fresh one is loaded. Throws TlsError.
std::vector<std::string> add_crls(ssl::context& ctx, const std::string& file, bool refuse_stale);

/// When the context's own certificate expires, in seconds since the epoch (nullopt: none).
std::optional<std::int64_t> own_certificate_not_after(ssl::context& ctx);

/// Sets SNI (names only) and the name or IP address the server certificate must carry.
void set_expected_peer(SSL* ssl, const std::string& name);

/// Words for a failed client handshake: the certificate verification error when there is one
/// ("certificate verify failed: hostname mismatch"), else what the connection did. When the
/// peer just closed the connection, `closed_hint` (if any) follows in parentheses.
/// What to tell the user to do when the server's certificate fails verification: heal-ctl and
/// check_worker name their options differently.
struct TlsAdvice {
    std::string untrusted = "the server's certificate is not signed by the CA given with --ca";
    std::string wrong_name = "connect by one of those names or give it with --server-name";
};
std::string describe_handshake_failure(SSL* ssl, const boost::system::error_code& ec,
                                       std::string_view closed_hint = {}, const TlsAdvice& advice = {});

/// Words for a TLS alert about our certificate from the server (TLS 1.3 sends its verdict after
/// the handshake, 1.2 during it): "" when `ec` is not such an alert. Our own certificate's
/// dates (from `ssl`) come first: an alert cannot say "not yet valid".
std::string describe_peer_alert(const boost::system::error_code& ec, SSL* ssl);

struct PeerCertificate {
    std::string subject;  ///< RFC 2253 one-line form, "" when there is none
    std::string cn;       ///< the subject's common name; "" when absent or not unique
    std::string sha256;   ///< hex, colon separated
    CertValidity validity;
};
PeerCertificate peer_certificate(SSL* ssl);

}  // namespace heal
