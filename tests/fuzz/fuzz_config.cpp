// heal.ini and heal-ctl.ini loaders, on arbitrary file contents.
#include "common/client_config.hpp"
#include "listener/config.hpp"

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

namespace {
/// The file the loaders read, removed when the fuzzer exits.
struct InputFile {
    std::string path = "/tmp/heal-fuzz-config." + std::to_string(::getpid()) + ".ini";
    ~InputFile() { std::remove(path.c_str()); }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const InputFile input;
    const std::string& path = input.path;
    FILE* f = std::fopen(path.c_str(), "we");
    if (!f) return 0;
    std::fwrite(data, 1, size, f);
    std::fclose(f);
    try {
        auto cfg = heal::load_listener_config(path);
        (void)heal::config_warnings(cfg);
    } catch (const heal::ConfigError& e) {
        if (std::string(e.what()).empty()) std::abort();
    }
    try {
        heal::ClientOptions o;
        heal::load_client_config(path, o);
    } catch (const heal::ConfigError&) {
    }
    return 0;
}
