// Owners of libvirt handles: one Connection per virConnectPtr and one Domain
// per virDomainPtr, move-only, released on destruction (a Domain's
// destruction frees the handle, it does not destroy the VM: see
// connection.h's destroy()).
#pragma once

#include <libvirt/libvirt.h>

#include <string>
#include <utility>

namespace racerig::libvirt {

class Connection {
 public:
  Connection() = default;
  Connection(virConnectPtr conn, std::string uri) : conn_(conn), uri_(std::move(uri)) {}
  Connection(Connection&& o) noexcept : conn_(std::exchange(o.conn_, nullptr)), uri_(std::move(o.uri_)) {}
  Connection& operator=(Connection&& o) noexcept {
    if (this != &o) {
      reset();
      conn_ = std::exchange(o.conn_, nullptr);
      uri_ = std::move(o.uri_);
    }
    return *this;
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() { reset(); }

  virConnectPtr get() const { return conn_; }
  bool valid() const { return conn_ != nullptr; }
  // The URI it was opened with (for messages).
  const std::string& uri() const { return uri_; }
  void reset() {
    if (conn_ != nullptr) virConnectClose(conn_);
    conn_ = nullptr;
  }

 private:
  virConnectPtr conn_ = nullptr;
  std::string uri_;
};

class Domain {
 public:
  Domain() = default;
  Domain(virDomainPtr dom, std::string name) : dom_(dom), name_(std::move(name)) {}
  Domain(Domain&& o) noexcept : dom_(std::exchange(o.dom_, nullptr)), name_(std::move(o.name_)) {}
  Domain& operator=(Domain&& o) noexcept {
    if (this != &o) {
      reset();
      dom_ = std::exchange(o.dom_, nullptr);
      name_ = std::move(o.name_);
    }
    return *this;
  }
  Domain(const Domain&) = delete;
  Domain& operator=(const Domain&) = delete;
  ~Domain() { reset(); }

  virDomainPtr get() const { return dom_; }
  bool valid() const { return dom_ != nullptr; }
  const std::string& name() const { return name_; }
  void reset() {
    if (dom_ != nullptr) virDomainFree(dom_);
    dom_ = nullptr;
  }

 private:
  virDomainPtr dom_ = nullptr;
  std::string name_;
};

}  // namespace racerig::libvirt
