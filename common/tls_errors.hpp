// OpenSSL's error texts, loaded when an error is to be said. A TLS client starts OpenSSL without
// them (make_client_context): loading them is 1 M instructions and 70 KiB of heap at every start
// of check_worker, heal-ctl and check_heal, for a text only a failure prints.
#pragma once

#include <boost/system/error_code.hpp>

#include <string>

namespace heal {

/// Loads OpenSSL's error texts if they are not loaded yet (idempotent, thread-safe). Every path
/// that turns an OpenSSL error into words calls it first: openssl_errors(), the handshake's
/// descriptions, error_text().
void load_error_strings();

/// ec.message(), OpenSSL's texts loaded first when ec is one of its errors (asio's ssl category;
/// without them it says "asio.ssl error").
std::string error_text(const boost::system::error_code& ec);

}  // namespace heal
