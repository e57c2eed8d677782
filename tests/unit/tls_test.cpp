// The client side's trust store: what a check pays for at every start.
#include "common/tls.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

namespace {

using heal::make_client_context;

/// Sets (or unsets, with nullopt) an environment variable for the scope, then puts it back.
class ScopedEnv {
public:
    ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        value ? ::setenv(name, value->c_str(), 1) : ::unsetenv(name);
    }
    ~ScopedEnv() { old_ ? ::setenv(name_, old_->c_str(), 1) : ::unsetenv(name_); }

private:
    const char* name_;
    std::optional<std::string> old_;
};

/// Certificates the context's store holds now (a hashed folder adds them when a chain asks).
int loaded(const std::shared_ptr<boost::asio::ssl::context>& ctx) {
    return sk_X509_OBJECT_num(X509_STORE_get0_objects(SSL_CTX_get_cert_store(ctx->native_handle())));
}

/// A self-signed CA certificate in a PEM file of its own.
std::string write_ca(const std::filesystem::path& file) {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("tls_test CA"), -1,
                               -1, 0);
    X509_set_issuer_name(x, name);
    X509_sign(x, key, EVP_sha256());
    FILE* f = std::fopen(file.c_str(), "w");
    PEM_write_X509(f, x);
    std::fclose(f);
    X509_free(x);
    EVP_PKEY_free(key);
    return file;
}

}  // namespace

// Debian's bundle is ~140 certificates: parsed at every start it cost check_worker -S ten times
// the rest of its check. The store is the hashed folder, read when a chain names its CA.
TEST(ClientContext, TheSystemStoreIsLookedUpNotParsedWholeAndOpensslsVariablesCount) {
    ScopedEnv no_file("SSL_CERT_FILE", std::nullopt), no_dir("SSL_CERT_DIR", std::nullopt);
    EXPECT_EQ(loaded(make_client_context("", "", "", true)), 0) << "the system bundle was parsed whole";
    EXPECT_EQ(loaded(make_client_context("", "", "", false)), 0) << "--insecure reads no store";

    char tmpl[] = "/tmp/heal-tls-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    const std::filesystem::path dir = tmpl;
    const std::string ca = write_ca(dir / "ca.pem");
    EXPECT_EQ(loaded(make_client_context(ca, "", "", true)), 1) << "--ca FILE is read whole";
    {
        ScopedEnv file("SSL_CERT_FILE", ca);
        EXPECT_EQ(loaded(make_client_context("", "", "", true)), 1) << "SSL_CERT_FILE, as OpenSSL reads it";
        EXPECT_EQ(loaded(make_client_context("", "", "", false)), 0) << "--insecure reads no store";
    }
    {
        ScopedEnv file("SSL_CERT_FILE", (dir / "missing.pem").string());
        try {
            make_client_context("", "", "", true);
            ADD_FAILURE() << "a missing SSL_CERT_FILE was taken";
        } catch (const heal::TlsError& e) {
            EXPECT_NE(std::string(e.what()).find("missing.pem"), std::string::npos) << e.what();
        }
    }
    std::filesystem::remove_all(dir);
}
