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

FileWriter::FileWriter(std::string path, std::string tmp, int fd)
    : path_(std::move(path)), tmp_(std::move(tmp)), fd_(fd) {}

FileWriter::~FileWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(tmp_.c_str());
}

Result<std::unique_ptr<FileWriter>> FileWriter::Create(const std::string& path, mode_t mode) {
  std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (fd.get() < 0) return Fail(IoError("create", tmp, errno));
  std::unique_ptr<FileWriter> writer(new FileWriter(path, tmp, fd.Release()));
  // The umask may have removed bits the caller asked for; the caller's mode is the contract.
  if (::fchmod(writer->fd_, mode) != 0) return Fail(IoError("chmod", tmp, errno));
  return writer;
}

Error FileWriter::Abandon(const std::string& what, const std::string& path, int err) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  return IoError(what, path, err);
}

Status FileWriter::Write(std::string_view data) {
  if (fd_ < 0) return Fail(ClientError("cannot write " + tmp_ + ": already closed"));
  size_t written = 0;
  while (written < data.size()) {
    ssize_t n = ::write(fd_, data.data() + written, data.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Fail(Abandon("write", tmp_, errno));
    written += static_cast<size_t>(n);
  }
  return Ok();
}

Status FileWriter::Commit() {
  if (fd_ < 0) return Fail(ClientError("cannot write " + tmp_ + ": already closed"));
  if (::fsync(fd_) != 0) return Fail(Abandon("write", tmp_, errno));
  int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) return Fail(IoError("write", tmp_, errno));
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) return Fail(IoError("write", path_, errno));
  committed_ = true;
  return Ok();
}

Status WriteFile(const std::string& path, std::string_view data, mode_t mode) {
  CV_ASSIGN_OR_RETURN(auto writer, FileWriter::Create(path, mode));
  CV_RETURN_IF_ERROR(writer->Write(data));
  return writer->Commit();
}

}  // namespace certvault::cli
