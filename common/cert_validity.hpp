// What a peer certificate's dates say: filled by tls.cpp, judged by the check plugins' -C.
#pragma once

#include <string>

namespace heal {

struct CertValidity {
    long days_left = 0;  ///< until notAfter, rounded down: negative once it has expired
    std::string not_before, not_after;  ///< as OpenSSL prints them: "Dec  2 17:00:00 2026 GMT"
    bool not_yet_valid = false;
};

}  // namespace heal
