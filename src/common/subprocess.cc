#include "common/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <string_view>

extern char** environ;

namespace certvault {
namespace {

using SteadyClock = std::chrono::steady_clock;

// After SIGTERM, how long the process group has to exit before SIGKILL.
constexpr auto kTermGrace = std::chrono::milliseconds(2000);
// After the child exits, how long descendants it left behind may keep our pipes open before the
// group is killed (they would otherwise hold the call until the timeout).
constexpr auto kDrainGrace = std::chrono::milliseconds(1000);
// Poll interval for the child's exit where pidfd_open is not available.
constexpr int kTickMs = 20;

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

std::string ErrnoText(int err) {
  char buf[256];
  // GNU strerror_r may return a static string rather than fill `buf`.
  return ::strerror_r(err, buf, sizeof buf);
}

Error StartError(const std::string& what, int err) {
  return Error::Unavailable(what + ": " + ErrnoText(err));
}

// Moves `fd` to a number above stderr, so that the child's dup2 onto 0..2 cannot clobber another
// pipe end (a server started with stdin closed gets pipe fds from 0).
Status MoveAboveStdio(Fd& fd) {
  if (fd.get() > STDERR_FILENO) return Ok();
  int moved = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
  if (moved < 0) return Fail(StartError("cannot create a pipe", errno));
  fd.reset(moved);
  return Ok();
}

struct Pipe {
  Fd read;
  Fd write;
};

Result<Pipe> MakePipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Fail(StartError("cannot create a pipe", errno));
  Pipe p{Fd(fds[0]), Fd(fds[1])};
  CV_RETURN_IF_ERROR(MoveAboveStdio(p.read));
  CV_RETURN_IF_ERROR(MoveAboveStdio(p.write));
  return p;
}

void SetNonBlocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

// Blocks SIGPIPE in this thread while it exists and discards one raised meanwhile, so that writing
// to a child that closed its stdin yields EPIPE instead of killing the process.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    ::sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    ::pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask_);
  }
  ~SigpipeGuard() {
    if (!was_pending_) {
      sigset_t pipe_set;
      sigemptyset(&pipe_set);
      sigaddset(&pipe_set, SIGPIPE);
      const timespec zero{0, 0};
      while (::sigtimedwait(&pipe_set, nullptr, &zero) == SIGPIPE) {
      }
    }
    ::pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t old_mask_;
  bool was_pending_ = false;
};

// The inherited environment with `extra` added or replacing.
std::vector<std::string> BuildEnvironment(const std::map<std::string, std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    std::string_view name = entry.substr(0, entry.find('='));
    if (extra.count(std::string(name)) == 0) env.emplace_back(entry);
  }
  for (const auto& [name, value] : extra) env.push_back(name + "=" + value);
  return env;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

class SpawnAttributes {
 public:
  SpawnAttributes() {
    ::posix_spawnattr_init(&attr_);
    ::posix_spawn_file_actions_init(&actions_);
  }
  ~SpawnAttributes() {
    ::posix_spawn_file_actions_destroy(&actions_);
    ::posix_spawnattr_destroy(&attr_);
  }
  SpawnAttributes(const SpawnAttributes&) = delete;
  SpawnAttributes& operator=(const SpawnAttributes&) = delete;

  posix_spawnattr_t* attr() { return &attr_; }
  posix_spawn_file_actions_t* actions() { return &actions_; }

 private:
  posix_spawnattr_t attr_;
  posix_spawn_file_actions_t actions_;
};

int OpenPidfd(pid_t pid) {
#ifdef SYS_pidfd_open
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd >= 0) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  return fd;
#else
  return -1;
#endif
}

// True once `pid` has exited; leaves it a zombie, so its pid (and process group id) cannot be
// reused before it is reaped.
bool HasExited(pid_t pid) {
  siginfo_t info;
  std::memset(&info, 0, sizeof info);
  if (::waitid(P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0) return errno == ECHILD;
  return info.si_pid == pid;
}

int Reap(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Appends what can be read from `fd` to `out` (up to `cap` kept); false once it reached EOF or
// failed.
bool ReadAvailable(int fd, std::string& out, size_t cap) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      if (out.size() < cap) out.append(buf, std::min(static_cast<size_t>(n), cap - out.size()));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    return false;
  }
}

int MillisUntil(SteadyClock::time_point when) {
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(when - SteadyClock::now()).count();
  return static_cast<int>(std::clamp<int64_t>(ms, 0, 60000));
}

}  // namespace

Result<SubprocessResult> RunSubprocess(const SubprocessSpec& spec) {
  if (spec.argv.empty() || spec.argv[0].empty()) {
    return Fail(Error::Internal("RunSubprocess: no executable given"));
  }
  CV_ASSIGN_OR_RETURN(Pipe in, MakePipe());
  CV_ASSIGN_OR_RETURN(Pipe out, MakePipe());
  CV_ASSIGN_OR_RETURN(Pipe err, MakePipe());

  SpawnAttributes spawn;
  // Own process group, no blocked signals, default dispositions (a server that ignores SIGPIPE
  // must not pass that on).
  sigset_t empty_set;
  sigemptyset(&empty_set);
  sigset_t all_signals;
  sigfillset(&all_signals);
  sigdelset(&all_signals, SIGKILL);
  sigdelset(&all_signals, SIGSTOP);
  ::posix_spawnattr_setpgroup(spawn.attr(), 0);
  ::posix_spawnattr_setsigmask(spawn.attr(), &empty_set);
  ::posix_spawnattr_setsigdefault(spawn.attr(), &all_signals);
  ::posix_spawnattr_setflags(
      spawn.attr(), POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  ::posix_spawn_file_actions_adddup2(spawn.actions(), in.read.get(), STDIN_FILENO);
  ::posix_spawn_file_actions_adddup2(spawn.actions(), out.write.get(), STDOUT_FILENO);
  ::posix_spawn_file_actions_adddup2(spawn.actions(), err.write.get(), STDERR_FILENO);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
  // Our own descriptors are O_CLOEXEC; this also covers ones a library opened without it.
  ::posix_spawn_file_actions_addclosefrom_np(spawn.actions(), STDERR_FILENO + 1);
#endif

  std::vector<std::string> argv_strings = spec.argv;
  std::vector<char*> argv = CStrings(argv_strings);
  std::vector<std::string> env_strings = BuildEnvironment(spec.env);
  std::vector<char*> envp = CStrings(env_strings);

  pid_t pid = -1;
  // glibc reports a failed exec (not found, not executable) as posix_spawnp's return value.
  int rc = ::posix_spawnp(&pid, argv[0], spawn.actions(), spawn.attr(), argv.data(), envp.data());
  if (rc != 0) return Fail(StartError("cannot run " + spec.argv[0], rc));

  in.read.reset();
  out.write.reset();
  err.write.reset();
  SetNonBlocking(in.write.get());
  SetNonBlocking(out.read.get());
  SetNonBlocking(err.read.get());
  if (spec.stdin_data.empty()) in.write.reset();

  Fd pidfd(OpenPidfd(pid));
  SubprocessResult result;
  const auto start = SteadyClock::now();
  const auto deadline = start + std::chrono::milliseconds(std::max<int64_t>(spec.timeout_ms, 0));
  SteadyClock::time_point kill_at{};      // SIGKILL the group then (set once SIGTERM was sent)
  SteadyClock::time_point drain_until{};  // set once the child exited
  bool exited = false;
  bool killed = false;
  size_t written = 0;
  SigpipeGuard sigpipe_guard;

  for (;;) {
    if (!exited && HasExited(pid)) {
      exited = true;
      drain_until = SteadyClock::now() + kDrainGrace;
      in.write.reset();
    }
    if (exited && !out.read.valid() && !err.read.valid()) break;

    const auto now = SteadyClock::now();
    if (!result.timed_out && !exited && now >= deadline) {
      result.timed_out = true;
      ::kill(-pid, SIGTERM);
      kill_at = now + kTermGrace;
      in.write.reset();
    }
    if (!killed && ((result.timed_out && now >= kill_at) || (exited && now >= drain_until))) {
      // The child ignored SIGTERM, or exited leaving descendants that hold our pipes.
      ::kill(-pid, SIGKILL);
      killed = true;
    }
    if (killed && exited) break;

    pollfd fds[4];
    nfds_t n = 0;
    int in_index = -1, out_index = -1, err_index = -1, pid_index = -1;
    if (in.write.valid()) {
      in_index = static_cast<int>(n);
      fds[n++] = {in.write.get(), POLLOUT, 0};
    }
    if (out.read.valid()) {
      out_index = static_cast<int>(n);
      fds[n++] = {out.read.get(), POLLIN, 0};
    }
    if (err.read.valid()) {
      err_index = static_cast<int>(n);
      fds[n++] = {err.read.get(), POLLIN, 0};
    }
    if (pidfd.valid() && !exited) {
      pid_index = static_cast<int>(n);
      fds[n++] = {pidfd.get(), POLLIN, 0};
    }

    SteadyClock::time_point wake = exited ? drain_until : result.timed_out ? kill_at : deadline;
    if (killed) wake = SteadyClock::now() + std::chrono::milliseconds(kTickMs);
    int wait_ms = MillisUntil(wake);
    if (!exited && pid_index < 0) wait_ms = std::min(wait_ms, kTickMs);
    int ready = ::poll(fds, n, wait_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      // Cannot happen with valid descriptors; stop the child rather than spin.
      ::kill(-pid, SIGKILL);
      Reap(pid);
      return Fail(Error::Internal(std::string("poll failed: ") + ErrnoText(errno)));
    }
    if (in_index >= 0 && fds[in_index].revents != 0) {
      if (fds[in_index].revents & (POLLERR | POLLHUP)) {
        in.write.reset();  // the child closed its stdin: what it did not read is dropped
      } else {
        std::string_view rest = std::string_view(spec.stdin_data).substr(written);
        ssize_t w = ::write(in.write.get(), rest.data(), std::min<size_t>(rest.size(), 65536));
        if (w > 0) written += static_cast<size_t>(w);
        if (w < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) in.write.reset();
        if (written >= spec.stdin_data.size()) in.write.reset();
      }
    }
    if (out_index >= 0 && fds[out_index].revents != 0 &&
        !ReadAvailable(out.read.get(), result.stdout_data, spec.max_output)) {
      out.read.reset();
    }
    if (err_index >= 0 && fds[err_index].revents != 0 &&
        !ReadAvailable(err.read.get(), result.stderr_data, spec.max_output)) {
      err.read.reset();
    }
  }

  if (result.timed_out) ::kill(-pid, SIGKILL);  // descendants that outlived the child
  int code = Reap(pid);
  result.exit_code = result.timed_out ? -1 : code;
  return result;
}

}  // namespace certvault
