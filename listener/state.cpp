#include "listener/state.hpp"

#include "common/log.hpp"

namespace heal {

RuntimePtr make_runtime(const std::string& config_path) {
    auto rt = std::make_shared<Runtime>();
    rt->cfg = load_listener_config(config_path);
    rt->tls = make_server_context(rt->cfg.cert, rt->cfg.key, rt->cfg.client_ca);
    rt->cert_not_after = own_certificate_not_after(*rt->tls);
    if (!rt->cfg.crl.empty())  // read again on every SIGHUP, with the rest of the configuration
        for (const auto& w : add_crls(*rt->tls, rt->cfg.crl, rt->cfg.crl_refuse_stale)) log::warning(w);
    return rt;
}

}  // namespace heal
