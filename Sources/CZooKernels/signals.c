// Fault handlers: see zoo_kernels.h. Everything a handler touches is a fixed table of atomics
// and path buffers, written before the slot is published and never freed.
#define _GNU_SOURCE
#include "zoo_kernels.h"
#include <errno.h>
#include <pthread.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#define ZOO_MAPPINGS 512
#define ZOO_STAGINGS 64
#define ZOO_PATH 4096

struct guarded_mapping {
    _Atomic int state; // 0 free, 1 being written, 2 live
    uintptr_t start, end;
    char path[ZOO_PATH];
};

struct staging {
    _Atomic int state;
    char path[ZOO_PATH];
};

static struct guarded_mapping mappings[ZOO_MAPPINGS];
static struct staging stagings[ZOO_STAGINGS];

static void copy_path(char *dst, const char *src) {
    size_t n = strlen(src);
    if (n >= ZOO_PATH) n = ZOO_PATH - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

static int claim(_Atomic int *state) {
    int expected = 0;
    return atomic_compare_exchange_strong(state, &expected, 1);
}

int zoo_guard_mapping(const void *base, size_t length, const char *path) {
    for (int i = 0; i < ZOO_MAPPINGS; i++) {
        if (!claim(&mappings[i].state)) continue;
        mappings[i].start = (uintptr_t)base;
        mappings[i].end = (uintptr_t)base + length;
        copy_path(mappings[i].path, path);
        atomic_store(&mappings[i].state, 2);
        return i;
    }
    return -1;
}

void zoo_unguard_mapping(int slot) {
    if (slot >= 0 && slot < ZOO_MAPPINGS) atomic_store(&mappings[slot].state, 0);
}

int zoo_register_staging(const char *path) {
    for (int i = 0; i < ZOO_STAGINGS; i++) {
        if (!claim(&stagings[i].state)) continue;
        copy_path(stagings[i].path, path);
        atomic_store(&stagings[i].state, 2);
        return i;
    }
    return -1;
}

void zoo_unregister_staging(int slot) {
    if (slot >= 0 && slot < ZOO_STAGINGS) atomic_store(&stagings[slot].state, 0);
}

static void remove_stagings(void) {
    for (int i = 0; i < ZOO_STAGINGS; i++) {
        if (atomic_load(&stagings[i].state) == 2) unlink(stagings[i].path);
    }
}

static void say(const char *s) {
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(2, s, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        s += w;
        n -= (size_t)w;
    }
}

static void on_bus_error(int sig, siginfo_t *info, void *context) {
    (void)context;
    uintptr_t at = (uintptr_t)info->si_addr;
    for (int i = 0; i < ZOO_MAPPINGS; i++) {
        if (atomic_load(&mappings[i].state) != 2) continue;
        if (at < mappings[i].start || at >= mappings[i].end) continue;
        remove_stagings();
        say("zoo: error: ");
        say(mappings[i].path);
        say(": expected the file to stay as it was while zoo read it, found it shorter: another program "
            "truncated or rewrote it during the run; nothing was written\n");
        _exit(1);
    }
    // Not a file zoo mapped: a real fault. Let the default action report it.
    signal(sig, SIG_DFL);
}

static void on_termination(int sig) {
    remove_stagings();
    signal(sig, SIG_DFL);
    raise(sig);
}

void zoo_install_fault_handlers(void) {
    static atomic_flag installed = ATOMIC_FLAG_INIT;
    if (atomic_flag_test_and_set(&installed)) return;
    struct sigaction bus;
    memset(&bus, 0, sizeof bus);
    bus.sa_sigaction = on_bus_error;
    bus.sa_flags = SA_SIGINFO;
    sigemptyset(&bus.sa_mask);
    sigaction(SIGBUS, &bus, NULL);
    int ends[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
    for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
        struct sigaction previous;
        // a signal the caller ignores (nohup) stays ignored
        if (sigaction(ends[i], NULL, &previous) == 0 && previous.sa_handler == SIG_IGN) continue;
        struct sigaction end;
        memset(&end, 0, sizeof end);
        end.sa_handler = on_termination;
        sigemptyset(&end.sa_mask);
        sigaction(ends[i], &end, NULL);
    }
    signal(SIGXFSZ, SIG_IGN);
    // A parent may have started zoo with these blocked (a test runner, a supervisor): a blocked
    // SIGBUS from a fault kills at once, and blocked termination signals would never arrive.
    sigset_t unblock;
    sigemptyset(&unblock);
    sigaddset(&unblock, SIGBUS);
    for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) sigaddset(&unblock, ends[i]);
    pthread_sigmask(SIG_UNBLOCK, &unblock, NULL);
}

#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>

int zoo_open_unnamed(const char *folder) {
#ifdef O_TMPFILE
    return open(folder, O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
#else
    errno = EOPNOTSUPP;
    return -1;
#endif
}

int zoo_rename_noreplace(const char *from, const char *to) {
#ifdef RENAME_NOREPLACE
    return renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE);
#else
    errno = ENOSYS;
    return -1;
#endif
}

// ---- seeded random numbers (see zoo_kernels.h) ----
#include <math.h>

static uint64_t splitmix64(uint64_t *state) {
    *state += 0x9E3779B97F4A7C15ull;
    uint64_t z = *state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double unit(uint64_t *state) { return (double)(splitmix64(state) >> 11) * 0x1.0p-53; }

void zoo_fill_normal(uint64_t *state, float *out, size_t count, float center, float scale) {
    for (size_t i = 0; i < count; i++) {
        double u1 = unit(state), u2 = unit(state);
        if (u1 < 0x1.0p-53) u1 = 0x1.0p-53;
        out[i] = center + scale * (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
    }
}

void zoo_fill_uniform(uint64_t *state, float *out, size_t count, float lo, float hi) {
    for (size_t i = 0; i < count; i++) out[i] = lo + (hi - lo) * (float)unit(state);
}

uint64_t zoo_random_below(uint64_t *state, uint64_t n) { return ((splitmix64(state) >> 32) * n) >> 32; }
