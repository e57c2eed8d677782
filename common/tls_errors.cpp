#include "common/tls_errors.hpp"

// The per-library loaders are OpenSSL 3.0's deprecated API, and the only way back to the texts
// once OPENSSL_init_ssl was told not to load them (its once-flags stay set).
#define OPENSSL_SUPPRESS_DEPRECATED
#include <boost/asio/ssl/error.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <mutex>

namespace heal {

void load_error_strings() {
    static std::once_flag once;
    std::call_once(once, [] {
        // Each is a no-op when its library's texts are there already. The libraries a TLS
        // client's failure can come from; the provider's own reasons (PROV) have no public
        // loader and print as "reason(N)", which no check has met.
        ERR_load_ERR_strings();
        ERR_load_SSL_strings();
        ERR_load_X509_strings();
        ERR_load_X509V3_strings();
        ERR_load_PEM_strings();
        ERR_load_ASN1_strings();
        ERR_load_EVP_strings();
        ERR_load_BIO_strings();
        ERR_load_BUF_strings();
        ERR_load_CRYPTO_strings();
        ERR_load_OBJ_strings();
        ERR_load_RSA_strings();
        ERR_load_EC_strings();
        ERR_load_DH_strings();
        ERR_load_DSA_strings();
        ERR_load_BN_strings();
        ERR_load_RAND_strings();
        ERR_load_CONF_strings();
        ERR_load_OSSL_STORE_strings();
        ERR_load_PKCS12_strings();
    });
}

std::string error_text(const boost::system::error_code& ec) {
    if (ec.category() == boost::asio::error::get_ssl_category()) load_error_strings();
    return ec.message();
}

}  // namespace heal
