#include "common/tls.hpp"

#include "common/tls_errors.hpp"

#include <boost/asio/ip/address.hpp>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

namespace heal {

std::string openssl_errors(const std::string& fallback) {
    load_error_strings();
    std::string out;
    while (unsigned long e = ERR_get_error()) {
        std::string text;
        if (ERR_SYSTEM_ERROR(e)) {  // OpenSSL 3 prints these as "error:80000002:system library::"
            text = std::strerror(static_cast<int>(ERR_GET_REASON(e)));
        } else if (const char* reason = ERR_reason_error_string(e)) {
            text = reason;
        } else {
            char buf[256];
            ERR_error_string_n(e, buf, sizeof buf);
            text = buf;
        }
        if (out.find(text) != std::string::npos) continue;  // the same cause, reported per layer
        if (!out.empty()) out += "; ";
        out += text;
    }
    return out.empty() ? fallback : out;
}

namespace {

void check(int ok, const std::string& call, const std::string& file) {
    if (ok != 1) throw TlsError(call + "(" + file + "): " + openssl_errors());
}

/// Says which file is missing or unreadable in words, before OpenSSL says it in its own.
void require_readable(const std::string& what, const std::string& file) {
    if (::access(file.c_str(), R_OK) != 0)
        throw TlsError("cannot read " + what + " '" + file + "': " + std::strerror(errno));
}

/// A PEM private key, telling OpenSSL's decoder what to expect: with no hints, OpenSSL 3.0 sets
/// up every decoder it has (SSL_CTX_use_PrivateKey_file: 4.7 M instructions, a seventh of a
/// heal-ctl call); told "PEM" and "EC", a fraction of that. Other key types (RSA, Ed25519)
/// take the second, unhinted try.
EVP_PKEY* read_private_key(const std::string& file) {
    for (const char* type : {"EC", static_cast<const char*>(nullptr)}) {
        BIO* bio = BIO_new_file(file.c_str(), "r");
        if (!bio) return nullptr;
        EVP_PKEY* pkey = nullptr;
        OSSL_DECODER_CTX* d = OSSL_DECODER_CTX_new_for_pkey(&pkey, "PEM", nullptr, type,
                                                            OSSL_KEYMGMT_SELECT_KEYPAIR, nullptr, nullptr);
        bool ok = d && OSSL_DECODER_from_bio(d, bio) == 1 && pkey;
        OSSL_DECODER_CTX_free(d);
        BIO_free(bio);
        if (ok) {
            ERR_clear_error();  // the EC try's complaints about another key type
            return pkey;
        }
        EVP_PKEY_free(pkey);
    }
    if (ERR_peek_error() == 0)
        ERR_raise_data(ERR_LIB_PEM, PEM_R_NO_START_LINE, "no private key in '%s'", file.c_str());
    return nullptr;
}

/// The system store as its hashed folder (Debian's /etc/ssl/certs, which update-ca-certificates
/// keeps beside its bundle): a CA is read when a chain names it. SSL_CTX_set_default_verify_paths
/// would also parse the whole bundle (ca-certificates.crt, ~140 certificates) at every start:
/// 236 M instructions, ten times a whole check_worker -S (callgrind). OpenSSL's own variables
/// are honoured as it honours them: SSL_CERT_DIR (folders, ':'-separated) instead of the default
/// folder, and SSL_CERT_FILE, when set, read too.
void load_system_store(SSL_CTX* c) {
    const char* file = secure_getenv(X509_get_default_cert_file_env());
    const char* dir = secure_getenv(X509_get_default_cert_dir_env());
    if (file && *file)
        check(SSL_CTX_load_verify_file(c, file), "SSL_CTX_load_verify_file", file);
    const std::string dirs = dir && *dir ? dir : X509_get_default_cert_dir();
    check(SSL_CTX_load_verify_dir(c, dirs.c_str()), "SSL_CTX_load_verify_dir", dirs);
}

/// Certificate, then key, then that they belong together, each failure in words.
void load_pair(SSL_CTX* c, const std::string& cert, const std::string& key) {
    require_readable("certificate", cert);
    require_readable("private key", key);
    check(SSL_CTX_use_certificate_chain_file(c, cert.c_str()), "SSL_CTX_use_certificate_chain_file",
          cert);
    EVP_PKEY* pkey = read_private_key(key);
    bool ok = pkey && SSL_CTX_use_PrivateKey(c, pkey) == 1;
    EVP_PKEY_free(pkey);
    if (!ok || SSL_CTX_check_private_key(c) != 1) {
        std::string why = openssl_errors();
        if (why.find("key values mismatch") != std::string::npos)
            throw TlsError("private key '" + key + "' does not belong to certificate '" + cert +
                           "' (key values mismatch)");
        throw TlsError("cannot load private key '" + key + "': " + why);
    }
}

/// The names a certificate carries, for a hostname-mismatch message: "DNS:a, IP:1.2.3.4".
std::string subject_alt_names(X509* cert) {
    std::string out;
    auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    for (int i = 0; names && i < sk_GENERAL_NAME_num(names); ++i) {
        const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
        std::string item;
        if (n->type == GEN_DNS) {
            item = "DNS:" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(n->d.dNSName)),
                                        static_cast<std::size_t>(ASN1_STRING_length(n->d.dNSName)));
        } else if (n->type == GEN_IPADD) {
            const unsigned char* b = ASN1_STRING_get0_data(n->d.iPAddress);
            int len = ASN1_STRING_length(n->d.iPAddress);
            boost::system::error_code ec;
            if (len == 4)
                item = "IP:" + boost::asio::ip::make_address_v4(
                                   boost::asio::ip::address_v4::bytes_type{b[0], b[1], b[2], b[3]})
                                   .to_string();
            else if (len == 16) {
                boost::asio::ip::address_v6::bytes_type bytes;
                std::copy(b, b + 16, bytes.begin());
                item = "IP:" + boost::asio::ip::make_address_v6(bytes).to_string();
            }
        }
        if (item.empty()) continue;
        for (char& ch : item)
            if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ch = '?';
        out += (out.empty() ? "" : ", ") + item;
    }
    GENERAL_NAMES_free(names);
    return out.empty() ? "no subjectAltName at all" : out;
}

std::string asn1_time_text(const ASN1_TIME* t) {
    std::string out;
    if (BIO* bio = BIO_new(BIO_s_mem())) {
        if (ASN1_TIME_print(bio, t) == 1) {
            char* data = nullptr;
            long n = BIO_get_mem_data(bio, &data);
            out.assign(data, static_cast<std::size_t>(n));
        }
        BIO_free(bio);
    }
    return out;
}

void common_policy(SSL_CTX* ctx) {
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
    // One request per connection: resumption buys nothing and complicates client-cert checks.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    // Our certificate goes out as its file has it (leaf, then any intermediates). Without this,
    // OpenSSL builds a chain for it from the trust store on every handshake, verifying our own
    // certificate and sending the CA along for the peer to decode: 2.5 M instructions per
    // heal-ctl call (callgrind), a tenth of it.
    SSL_CTX_set_mode(ctx, SSL_MODE_NO_AUTO_CHAIN);
}

}  // namespace

std::shared_ptr<ssl::context> make_server_context(const std::string& cert, const std::string& key,
                                                  const std::string& client_ca) {
    auto ctx = server_context_without_client_certificates(cert, key);
    SSL_CTX* c = ctx->native_handle();
    require_readable("client_ca", client_ca);
    check(SSL_CTX_load_verify_locations(c, client_ca.c_str(), nullptr),
          "SSL_CTX_load_verify_locations", client_ca);
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(client_ca.c_str());
    if (!names) throw TlsError("SSL_load_client_CA_file(" + client_ca + "): " + openssl_errors());
    SSL_CTX_set_client_CA_list(c, names);
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    return ctx;
}

std::shared_ptr<ssl::context> server_context_without_client_certificates(const std::string& cert,
                                                                         const std::string& key) {
    // A server says its peers' failures (the listener's and the receiver's logs): its texts from
    // the start, whether or not a client context started OpenSSL without them first.
    load_error_strings();
    ERR_clear_error();
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    SSL_CTX* c = ctx->native_handle();
    common_policy(c);
    load_pair(c, cert, key);
    // An idle connection (a request being awaited, an action running) holds no record buffers.
    SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
    // TLS 1.2: forward secrecy and AEAD only (no static RSA, no CBC: LUCKY13). TLS 1.3's
    // suites are all of that kind already.
    check(SSL_CTX_set_cipher_list(c, "ECDHE+AESGCM:ECDHE+CHACHA20"), "SSL_CTX_set_cipher_list",
          "ECDHE+AESGCM:ECDHE+CHACHA20");
    return ctx;
}

std::shared_ptr<ssl::context> make_client_context(const std::string& ca, const std::string& cert,
                                                  const std::string& key, bool verify) {
    // A client's TLS policy is its own (common_policy): openssl.cnf is not read (Debian 12's sets
    // nothing for TLS; reading it costs 1.4 M instructions), OpenSSL does not free its tables at
    // exit (1.4 M more; the kernel frees a process's memory at once), and its error texts are
    // loaded when an error is said (common/tls_errors.hpp: 1 M and 70 KiB at every start).
    // The first call's flags hold: a process that made a server context first has them loaded.
    OPENSSL_init_ssl(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_ATEXIT | OPENSSL_INIT_NO_LOAD_SSL_STRINGS |
                         OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS,
                     nullptr);
    ERR_clear_error();
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
    SSL_CTX* c = ctx->native_handle();
    common_policy(c);
    if (!cert.empty()) load_pair(c, cert, key.empty() ? cert : key);
    if (!ca.empty()) {
        require_readable("CA file", ca);
        check(SSL_CTX_load_verify_locations(c, ca.c_str(), nullptr),
              "SSL_CTX_load_verify_locations", ca);
    } else if (verify) {
        load_system_store(c);
    }  // not verified (--insecure): no store to read
    SSL_CTX_set_verify(c, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
    return ctx;
}

namespace {

std::string name_text(const X509_NAME* name) {
    std::string out;
    if (BIO* bio = BIO_new(BIO_s_mem())) {
        X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253);
        char* data = nullptr;
        long n = BIO_get_mem_data(bio, &data);
        out.assign(data, static_cast<std::size_t>(n));
        BIO_free(bio);
    }
    return out;
}

/// With crl_stale = warn: a CRL past its next update still says what is revoked.
int accept_stale_crl(int ok, X509_STORE_CTX* store) {
    if (!ok && X509_STORE_CTX_get_error(store) == X509_V_ERR_CRL_HAS_EXPIRED) {
        X509_STORE_CTX_set_error(store, X509_V_OK);
        return 1;
    }
    return ok;
}

}  // namespace

std::vector<std::string> add_crls(ssl::context& ctx, const std::string& file, bool refuse_stale) {
    ERR_clear_error();
    require_readable("crl", file);
    BIO* bio = BIO_new_file(file.c_str(), "r");
    if (!bio) throw TlsError("crl '" + file + "': " + openssl_errors());
    std::vector<X509_CRL*> crls;
    while (X509_CRL* crl = PEM_read_bio_X509_CRL(bio, nullptr, nullptr, nullptr)) crls.push_back(crl);
    BIO_free(bio);
    ERR_clear_error();  // the read that ended the loop
    struct Free {
        std::vector<X509_CRL*>& v;
        ~Free() {
            for (auto* c : v) X509_CRL_free(c);
        }
    } free_all{crls};
    if (crls.empty()) throw TlsError("crl '" + file + "': no PEM X509 CRL in it");
    X509_STORE* store = SSL_CTX_get_cert_store(ctx.native_handle());
    std::vector<std::string> warnings;
    STACK_OF(X509_OBJECT)* objects = X509_STORE_get0_objects(store);
    for (int i = 0; i < sk_X509_OBJECT_num(objects); ++i) {
        X509* ca = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objects, i));
        if (!ca) continue;
        bool found = false;
        for (auto* crl : crls)
            if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ca)) == 0 &&
                X509_CRL_verify(crl, X509_get0_pubkey(ca)) == 1)
                found = true;
        if (!found)
            throw TlsError("crl '" + file + "' has no CRL signed by the CA '" + name_text(X509_get_subject_name(ca)) +
                           "': every certificate it signed would be refused");
    }
    ERR_clear_error();
    for (auto* crl : crls) {
        const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl);
        if (next && X509_cmp_current_time(next) < 0)
            warnings.push_back("crl '" + file + "': the CRL of '" + name_text(X509_CRL_get_issuer(crl)) +
                               "' is past its next update (" + asn1_time_text(next) + "): " +
                               (refuse_stale ? "every certificate of that CA is refused until a fresh one is loaded"
                                             : "still used; publish a fresh one"));
        check(X509_STORE_add_crl(store, crl), "X509_STORE_add_crl", file);
    }
    X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
    SSL_CTX* c = ctx.native_handle();
    if (!refuse_stale) SSL_CTX_set_verify(c, SSL_CTX_get_verify_mode(c), accept_stale_crl);
    return warnings;
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

namespace {

/// What is wrong with our own certificate's dates, or "".
std::string own_certificate_dates(SSL* ssl) {
    X509* c = ssl ? SSL_get_certificate(ssl) : nullptr;
    if (!c) return {};
    if (X509_cmp_current_time(X509_get0_notBefore(c)) > 0)
        return "our certificate is not valid yet (not before " + asn1_time_text(X509_get0_notBefore(c)) + ")";
    if (X509_cmp_current_time(X509_get0_notAfter(c)) < 0)
        return "our certificate has expired (not after " + asn1_time_text(X509_get0_notAfter(c)) + ")";
    return {};
}

}  // namespace

std::string describe_peer_alert(const boost::system::error_code& ec, SSL* ssl) {
    if (ec.category() != boost::asio::error::get_ssl_category()) return {};
    const std::string refused = "the listener refused our certificate (" + error_text(ec) + "): ";
    const auto reason = ERR_GET_REASON(static_cast<unsigned long>(ec.value()));
    switch (reason) {
        case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
        case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
        case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
        case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
        case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
        case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
            break;
        case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
            return "the listener requires a client certificate (" + error_text(ec) + "): give --cert and --key";
        default: return {};
    }
    // Our own dates first: an alert cannot say "not yet valid", and blaming the CA misleads.
    if (auto dates = own_certificate_dates(ssl); !dates.empty()) return refused + dates;
    switch (reason) {
        case SSL_R_TLSV1_ALERT_UNKNOWN_CA: return refused + "is it signed by the listener's client_ca?";
        case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED: return refused + "it is revoked (in the listener's crl)";
        case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED: return refused + "the listener says it has expired";
        case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
            return refused + "it is not for TLS client use (extendedKeyUsage clientAuth)";
        default:
            return refused + "is it signed by the listener's client_ca? The listener's log and audit record "
                             "(verify_error) say why";
    }
}

std::string describe_handshake_failure(SSL* ssl, const boost::system::error_code& ec,
                                       std::string_view closed_hint, const TlsAdvice& advice) {
    long v = SSL_get_verify_result(ssl);
    if (v != X509_V_OK) {
        std::string out = std::string("certificate verify failed: ") + X509_verify_cert_error_string(v);
        switch (v) {
            case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
            case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
            case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
            case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
            case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
                return out + " (" + advice.untrusted + ")";
            case X509_V_ERR_HOSTNAME_MISMATCH:
            case X509_V_ERR_IP_ADDRESS_MISMATCH: {
                // The leaf is in the chain the server sent, even though verification failed.
                STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
                X509* leaf = chain && sk_X509_num(chain) > 0 ? sk_X509_value(chain, 0) : nullptr;
                return out + " (the certificate names " +
                       (leaf ? subject_alt_names(leaf) : std::string("?")) +
                       "; " + advice.wrong_name + ")";
            }
            default: return out;
        }
    }
    if (auto alert = describe_peer_alert(ec, ssl); !alert.empty()) return alert;
    if (ec == boost::asio::error::eof || ec == boost::asio::ssl::error::stream_truncated ||
        ec == boost::asio::error::connection_reset)
        return "connection closed during the TLS handshake" +
               (closed_hint.empty() ? std::string() : " (" + std::string(closed_hint) + ")");
    return error_text(ec);
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
        out.validity.days_left = days - (secs < 0 ? 1 : 0);
    out.validity.not_after = asn1_time_text(X509_get0_notAfter(cert));
    out.validity.not_before = asn1_time_text(X509_get0_notBefore(cert));
    out.validity.not_yet_valid = X509_cmp_current_time(X509_get0_notBefore(cert)) > 0;
    X509_free(cert);
    return out;
}

std::optional<std::int64_t> own_certificate_not_after(ssl::context& ctx) {
    const X509* cert = SSL_CTX_get0_certificate(ctx.native_handle());
    std::tm tm{};
    if (!cert || ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1) return std::nullopt;
    return static_cast<std::int64_t>(::timegm(&tm));
}

}  // namespace heal
