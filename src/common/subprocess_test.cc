#include "common/subprocess.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

namespace certvault {
namespace {

using std::chrono::steady_clock;

SubprocessSpec Spec(std::vector<std::string> argv) {
  SubprocessSpec spec;
  spec.argv = std::move(argv);
  spec.timeout_ms = 20000;
  return spec;
}

int64_t ElapsedMs(steady_clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(steady_clock::now() - since).count();
}

// True if a live process's command line is exactly `args` (zombies have an empty one).
bool ProcessRuns(const std::vector<std::string>& args) {
  std::string wanted;
  for (const auto& a : args) wanted += a + '\0';
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::ifstream in(entry.path() / "cmdline", std::ios::binary);
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (cmdline == wanted) return true;
  }
  return false;
}

// SIGKILL takes effect asynchronously: give the process a moment to go.
bool ProcessEnds(const std::vector<std::string>& args) {
  for (int i = 0; i < 200; ++i) {
    if (!ProcessRuns(args)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

std::vector<std::string> OwnCommandLine() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::vector<std::string> args;
  for (std::string arg; std::getline(in, arg, '\0');) args.push_back(arg);
  return args;
}

TEST(SubprocessTest, CatEchoesStdin) {
  SubprocessSpec spec = Spec({"cat"});
  spec.stdin_data = "hello\nworld\n";
  auto r = RunSubprocess(spec);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_FALSE(r->timed_out);
  EXPECT_EQ(r->stdout_data, "hello\nworld\n");
  EXPECT_EQ(r->stderr_data, "");
}

TEST(SubprocessTest, ArgumentsArePassedWithoutAShell) {
  auto r = RunSubprocess(Spec({"/bin/echo", "a b", "$HOME", "'q'"}));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->stdout_data, "a b $HOME 'q'\n");
}

TEST(SubprocessTest, EnvironmentIsInheritedPlusExtra) {
  ::setenv("CV_SUBPROCESS_TEST_INHERITED", "parent", 1);
  ::setenv("CV_SUBPROCESS_TEST_REPLACED", "old", 1);
  SubprocessSpec spec =
      Spec({"sh", "-c",
            "printf '%s|%s|%s' \"$CV_SUBPROCESS_TEST_INHERITED\" \"$CV_SUBPROCESS_TEST_REPLACED\" "
            "\"$CV_SUBPROCESS_TEST_NEW\""});
  spec.env = {{"CV_SUBPROCESS_TEST_REPLACED", "new"}, {"CV_SUBPROCESS_TEST_NEW", "x=y z"}};
  auto r = RunSubprocess(spec);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->stdout_data, "parent|new|x=y z");
  ::unsetenv("CV_SUBPROCESS_TEST_INHERITED");
  ::unsetenv("CV_SUBPROCESS_TEST_REPLACED");
}

TEST(SubprocessTest, ExitCodeAndStderr) {
  auto r = RunSubprocess(Spec({"sh", "-c", "echo out; echo oops >&2; exit 65"}));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->exit_code, 65);
  EXPECT_FALSE(r->timed_out);
  EXPECT_EQ(r->stdout_data, "out\n");
  EXPECT_EQ(r->stderr_data, "oops\n");
}

TEST(SubprocessTest, KilledBySignalIsMinusOne) {
  auto r = RunSubprocess(Spec({"sh", "-c", "kill -9 $$"}));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->exit_code, -1);
  EXPECT_FALSE(r->timed_out);
}

TEST(SubprocessTest, TimeoutKillsTheChild) {
  SubprocessSpec spec = Spec({"sleep", "30"});
  spec.timeout_ms = 300;
  auto start = steady_clock::now();
  auto r = RunSubprocess(spec);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->exit_code, -1);
  EXPECT_LT(ElapsedMs(start), 3000);
}

TEST(SubprocessTest, TimeoutKillsTheWholeProcessGroup) {
  ASSERT_TRUE(ProcessRuns(OwnCommandLine()));  // the check below can see a live process
  // The grandchild holds stdout too, so the call would also hang until it ended.
  const std::string marker = "29.5";  // an unusual sleep argument to find it in `ps`
  SubprocessSpec spec = Spec({"sh", "-c", "sleep " + marker + " & wait"});
  spec.timeout_ms = 300;
  auto start = steady_clock::now();
  auto r = RunSubprocess(spec);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->timed_out);
  EXPECT_LT(ElapsedMs(start), 3000);
  EXPECT_TRUE(ProcessEnds({"sleep", marker}));
}

TEST(SubprocessTest, ChildIgnoringSigtermIsKilled) {
  SubprocessSpec spec = Spec({"sh", "-c", "trap '' TERM; while :; do sleep 0.05; done"});
  spec.timeout_ms = 200;
  auto start = steady_clock::now();
  auto r = RunSubprocess(spec);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->timed_out);
  EXPECT_LT(ElapsedMs(start), 5000);
}

TEST(SubprocessTest, DescendantsHoldingThePipesDoNotHoldTheCall) {
  // The child exits at once but leaves a process holding stdout open.
  const std::string marker = "28.5";
  auto start = steady_clock::now();
  auto r = RunSubprocess(Spec({"sh", "-c", "echo done; sleep " + marker + " & exit 3"}));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_FALSE(r->timed_out);
  EXPECT_EQ(r->stdout_data, "done\n");
  EXPECT_LT(ElapsedMs(start), 5000);
  EXPECT_TRUE(ProcessEnds({"sleep", marker}));
}

TEST(SubprocessTest, BigOutputIsCappedWithoutDeadlock) {
  // 8 MB on stdout and on stderr at once, and 4 MB on stdin that the child echoes back: any
  // sequential reading would deadlock on full pipe buffers.
  SubprocessSpec spec = Spec({"sh", "-c", "head -c 8000000 /dev/zero >&2 & cat; wait"});
  spec.stdin_data = std::string(4'000'000, 'x') + std::string(4'000'000, 'y');
  spec.max_output = 3'000'000;
  auto r = RunSubprocess(spec);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_FALSE(r->timed_out);
  EXPECT_EQ(r->stdout_data, std::string(3'000'000, 'x'));
  EXPECT_EQ(r->stderr_data, std::string(3'000'000, '\0'));
}

TEST(SubprocessTest, ChildThatIgnoresStdinDoesNotHangOrKillUs) {
  // SIGPIPE's default action would end this test process.
  SubprocessSpec spec = Spec({"sh", "-c", "exec 0<&-; echo ignored"});
  spec.stdin_data = std::string(8'000'000, 'z');  // far more than a pipe buffer
  auto r = RunSubprocess(spec);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(r->stdout_data, "ignored\n");

  spec.argv = {"true"};  // exits without closing stdin explicitly
  r = RunSubprocess(spec);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->exit_code, 0);
}

TEST(SubprocessTest, ChildGetsDefaultSigpipeAndNoBlockedSignals) {
  // Even when this process ignores SIGPIPE, the child starts with the default action.
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction old {};
  ::sigaction(SIGPIPE, &ignore, &old);
  auto r = RunSubprocess(Spec({"sh", "-c", "grep -E '^Sig(Blk|Ign)' /proc/self/status"}));
  ::sigaction(SIGPIPE, &old, nullptr);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_NE(r->stdout_data.find("SigBlk:\t0000000000000000"), std::string::npos) << r->stdout_data;
  // SIGPIPE is signal 13: bit 12 of SigIgn (0x1000) must be clear.
  auto pos = r->stdout_data.find("SigIgn:\t");
  ASSERT_NE(pos, std::string::npos);
  unsigned long long ignored = std::stoull(r->stdout_data.substr(pos + 8, 16), nullptr, 16);
  EXPECT_EQ(ignored & 0x1000ULL, 0ULL);
}

TEST(SubprocessTest, ChildGetsItsOwnProcessGroup) {
  auto r = RunSubprocess(Spec({"sh", "-c", "cut -d' ' -f5 /proc/$$/stat; echo $$"}));
  ASSERT_TRUE(r) << r.error().message();
  std::string pgid = r->stdout_data.substr(0, r->stdout_data.find('\n'));
  pgid.erase(0, pgid.find_first_not_of(' '));
  std::string pid = r->stdout_data.substr(r->stdout_data.find('\n') + 1);
  pid.erase(pid.find_last_not_of('\n') + 1);
  EXPECT_EQ(pgid, pid);
  EXPECT_NE(pgid, std::to_string(::getpgrp()));
}

TEST(SubprocessTest, ParentDescriptorsAreNotInherited) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);  // deliberately without O_CLOEXEC
  auto r = RunSubprocess(Spec({"sh", "-c", "ls /proc/self/fd"}));
  ::close(fds[0]);
  ::close(fds[1]);
  ASSERT_TRUE(r) << r.error().message();
  // 0, 1, 2 and the descriptor ls opens on /proc/self/fd.
  int count = 0;
  for (char c : r->stdout_data) count += c == '\n';
  EXPECT_LE(count, 4) << r->stdout_data;
  EXPECT_EQ(r->stdout_data.find(std::to_string(fds[1]) + "\n"), std::string::npos)
      << r->stdout_data;
}

TEST(SubprocessTest, ConcurrentCallsDoNotShareDescriptors) {
  // Were a pipe end of one call inherited by another call's child, that cat would never see EOF.
  constexpr int kThreads = 4;
  std::vector<std::string> outputs(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &outputs] {
      for (int i = 0; i < 5; ++i) {
        SubprocessSpec spec = Spec({"cat"});
        spec.stdin_data = std::string(300'000, static_cast<char>('a' + t));
        auto r = RunSubprocess(spec);
        outputs[t] = r ? r->stdout_data : r.error().message();
        if (outputs[t] != spec.stdin_data) return;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(outputs[t], std::string(300'000, static_cast<char>('a' + t))) << t;
  }
}

TEST(SubprocessTest, NoZombieIsLeft) {
  auto r = RunSubprocess(Spec({"true"}));
  ASSERT_TRUE(r);
  errno = 0;
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

// Convention: an executable that cannot be started is an Error (Unavailable), not exit 127.
TEST(SubprocessTest, MissingExecutableIsAnError) {
  auto r = RunSubprocess(Spec({"/nonexistent/certvault-no-such-program"}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kUnavailable);
  EXPECT_NE(r.error().message().find("No such file"), std::string::npos) << r.error().message();

  r = RunSubprocess(Spec({"certvault-no-such-program-on-path"}));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kUnavailable);

  r = RunSubprocess(Spec({"/etc/passwd"}));  // exists, not executable
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kUnavailable);
}

}  // namespace
}  // namespace certvault
