// The Nagios 4 side of heal-event-handler: the fleet's states from status.dat with the group
// from objects.cache (status_file.hpp), and comments and pages through the command FIFO.
#pragma once

#include "handler/event_handler.hpp"

#include <string>

namespace heal::handler {

class NagiosFiles : public StatusSource {
public:
    /// `config_error`: why Nagios' configuration could not be read; it blocks every heal.
    NagiosFiles(const Options& o, std::string config_error = {}) : o_(o), config_error_(std::move(config_error)) {}
    fleet::FleetView view(const std::string& host, const std::string& service, bool service_ok) override;

private:
    const Options& o_;
    std::string config_error_;
};

class NagiosCommands : public Notifier {
public:
    explicit NagiosCommands(std::string command_file) : file_(std::move(command_file)) {}
    std::string comment(const std::string& host, const std::string& service, const std::string& text) override;
    std::string page(const std::string& host, const std::string& service, const std::string& text) override;

private:
    std::string file_;
};

}  // namespace heal::handler
