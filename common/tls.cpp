#include "tls.hpp"

#include <boost/asio/ip/address.hpp>
#include <openssl/err.h>
#include <openssl/x509v3.h>

namespace heal {

std::string openssl_errors(const std::string& fallback) {
    std::string out;
    while (unsigned long e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        if (!out.empty()) out += "; ";
        const char* reason = ERR_reason_error_string(e);
        out += reason ? reason : buf;
    }
    return out.empty() ? fallback : out;
}

namespace {

void check(int ok, const std::string& call, const std::string& file) {
    if (ok != 1) throw TlsError(call + "(" + file + "): " + openssl_errors());
}

void common_policy(SSL_CTX* ctx) {
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
    // One request per connection: resumption buys nothing and complicates client-cert checks.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
}

}  // namespace

std::shared_ptr<ssl::context> make_server_context(const std::string& cert, const std::string& key,
                                                  const std::string& client_ca) {
    ERR_clear_error();
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    SSL_CTX* c = ctx->native_handle();
    common_policy(c);
    check(SSL_CTX_use_certificate_chain_file(c, cert.c_str()), "SSL_CTX_use_certificate_chain_file",
          cert);
    check(SSL_CTX_use_PrivateKey_file(c, key.c_str(), SSL_FILETYPE_PEM),
          "SSL_CTX_use_PrivateKey_file", key);
    check(SSL_CTX_check_private_key(c), "SSL_CTX_check_private_key", key);
    check(SSL_CTX_load_verify_locations(c, client_ca.c_str(), nullptr),
          "SSL_CTX_load_verify_locations", client_ca);
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(client_ca.c_str());
    if (!names) throw TlsError("SSL_load_client_CA_file(" + client_ca + "): " + openssl_errors());
    SSL_CTX_set_client_CA_list(c, names);
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    // TLS 1.2: forward secrecy and AEAD only (no static RSA, no CBC: LUCKY13). TLS 1.3's
    // suites are all of that kind already.
    check(SSL_CTX_set_cipher_list(c, "ECDHE+AESGCM:ECDHE+CHACHA20"), "SSL_CTX_set_cipher_list",
          "ECDHE+AESGCM:ECDHE+CHACHA20");
    return ctx;
}

std::shared_ptr<ssl::context> make_client_context(const std::string& ca, const std::string& cert,
                                                  const std::string& key, bool verify) {
    ERR_clear_error();
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    SSL_CTX* c = ctx->native_handle();
    common_policy(c);
    if (!cert.empty()) {
        check(SSL_CTX_use_certificate_chain_file(c, cert.c_str()),
              "SSL_CTX_use_certificate_chain_file", cert);
        check(SSL_CTX_use_PrivateKey_file(c, (key.empty() ? cert : key).c_str(), SSL_FILETYPE_PEM),
              "SSL_CTX_use_PrivateKey_file", key.empty() ? cert : key);
        check(SSL_CTX_check_private_key(c), "SSL_CTX_check_private_key", key);
    }
    if (!ca.empty())
        check(SSL_CTX_load_verify_locations(c, ca.c_str(), nullptr),
              "SSL_CTX_load_verify_locations", ca);
    else
        check(SSL_CTX_set_default_verify_paths(c), "SSL_CTX_set_default_verify_paths",
              "system store");
    SSL_CTX_set_verify(c, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
    return ctx;
}

void set_expected_peer(SSL* ssl, const std::string& name) {
    boost::system::error_code ec;
    boost::asio::ip::make_address(name, ec);
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (!ec) {
        // An IP address must be in the certificate's IP SANs; SNI carries names only.
        if (X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str()) != 1)
            throw TlsError("X509_VERIFY_PARAM_set1_ip_asc(" + name + "): " + openssl_errors());
        return;
    }
    // Names come from subjectAltName only: a CN is not a host name (RFC 6125), and a CN-only
    // certificate would otherwise pass.
    X509_VERIFY_PARAM_set_hostflags(
        param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
    if (SSL_set1_host(ssl, name.c_str()) != 1)
        throw TlsError("SSL_set1_host(" + name + "): " + openssl_errors());
    if (SSL_set_tlsext_host_name(ssl, name.c_str()) != 1)
        throw TlsError("SSL_set_tlsext_host_name(" + name + "): " + openssl_errors());
}

std::string describe_handshake_failure(SSL* ssl, const boost::system::error_code& ec,
                                       std::string_view closed_hint) {
    long v = SSL_get_verify_result(ssl);
    if (v != X509_V_OK)
        return std::string("certificate verify failed: ") + X509_verify_cert_error_string(v);
    if (ec == boost::asio::error::eof || ec == boost::asio::ssl::error::stream_truncated ||
        ec == boost::asio::error::connection_reset)
        return "connection closed during the TLS handshake" +
               (closed_hint.empty() ? std::string() : " (" + std::string(closed_hint) + ")");
    return ec.message();
}

PeerCertificate peer_certificate(SSL* ssl) {
    PeerCertificate out;
    X509* cert = SSL_get1_peer_certificate(ssl);
    if (!cert) return out;
    if (BIO* bio = BIO_new(BIO_s_mem())) {
        X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
        char* data = nullptr;
        long n = BIO_get_mem_data(bio, &data);
        out.subject.assign(data, static_cast<std::size_t>(n));
        BIO_free(bio);
    }
    // The CN, when there is exactly one: a subject with two CNs matches no [client] cn.
    X509_NAME* name = X509_get_subject_name(cert);
    int at = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
    if (at >= 0 && X509_NAME_get_index_by_NID(name, NID_commonName, at) < 0) {
        unsigned char* utf8 = nullptr;
        int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, at)));
        if (n >= 0) out.cn.assign(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(n));
        OPENSSL_free(utf8);
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (X509_digest(cert, EVP_sha256(), md, &len) == 1) {
        static const char* hex = "0123456789ABCDEF";
        for (unsigned i = 0; i < len; ++i) {
            if (i) out.sha256 += ':';
            out.sha256 += hex[md[i] >> 4];
            out.sha256 += hex[md[i] & 15];
        }
    }
    int days = 0, secs = 0;
    if (ASN1_TIME_diff(&days, &secs, nullptr, X509_get0_notAfter(cert)) == 1)
        out.days_left = days - (secs < 0 ? 1 : 0);
    X509_free(cert);
    return out;
}

}  // namespace heal
