#include "cli/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "cli/config.h"

namespace certvault::cli {
namespace {

// Closes the descriptor when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int Release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

Error IoError(const std::string& what, const std::string& path, int err) {
  return ClientError("cannot " + what + " " + path + ": " + std::strerror(err));
}

}  // namespace

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(IoError("read", path, errno));
  std::ostringstream data;
  data << in.rdbuf();
  if (in.bad()) return Fail(IoError("read", path, errno));
  return data.str();
}

Status WriteFile(const std::string& path, std::string_view data, mode_t mode) {
  std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (fd.get() < 0) return Fail(IoError("create", tmp, errno));
  // The umask may have removed bits the caller asked for; the caller's mode is the contract.
  if (::fchmod(fd.get(), mode) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Fail(IoError("chmod", tmp, err));
  }
  size_t written = 0;
  while (written < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + written, data.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::unlink(tmp.c_str());
      return Fail(IoError("write", tmp, err));
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0 || ::close(fd.Release()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Fail(IoError("write", tmp, err));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Fail(IoError("write", path, err));
  }
  return Ok();
}

}  // namespace certvault::cli
