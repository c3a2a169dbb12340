/*
 * bcryptprimitives.dll for running StreamDoctor's Windows build under Wine 8.
 * TEST EQUIPMENT ONLY: it is built and installed by test/wine/run into a
 * throw-away Wine prefix (drive_c/windows/system32) and never ships.
 *
 * What it does:
 *  (a) exports ProcessPrng, which Go >= 1.24 imports at start-up (the Go
 *      runtime throws "bcryptprimitives.dll not found" without it); Wine 8
 *      has no bcryptprimitives.dll. Built on advapi32!SystemFunction036
 *      (RtlGenRandom), called in chunks under 1 GiB (its length is a ULONG).
 *  (b) WSAIoctl(SIO_UDP_NETRESET): Wine 8 answers WSAEOPNOTSUPP, and Go's
 *      net package fails every UDP socket (so every DNS query) with
 *      "wsaioctl: winapi error #10045". The wrapper turns that answer into
 *      success (what the flag asks for -- don't report NET_UNREACHABLE -- is
 *      what Wine does anyway).
 *  (c) NtSetInformationFile(FileDispositionInformationEx = 64): Wine 8
 *      returns STATUS_NOT_IMPLEMENTED, which Go's deleteat does not treat as
 *      "not supported" and so os.Remove/RemoveAll of entries inside a
 *      directory fail with "Invalid function." (Wine's text). The wrapper
 *      answers STATUS_INVALID_INFO_CLASS, so Go falls back to the old
 *      FileDispositionInformation.
 *  (d) CreateSymbolicLinkW: Wine 8's is a stub that returns TRUE and creates
 *      nothing, so os.Symlink "succeeds" and the test then finds no link.
 *      The wrapper fails it with ERROR_PRIVILEGE_NOT_HELD, which is what a
 *      Windows without Developer Mode answers a non-administrator: tests
 *      that need links then skip, as they would there.
 *
 * How (b), (c) and (d) are put in place: on the first ProcessPrng call (the
 * Go runtime makes it in osinit, before any Go code runs), the export-address
 * table entries of ws2_32!WSAIoctl, ntdll!NtSetInformationFile and
 * kernel32!CreateSymbolicLinkW are repointed at the wrappers below (through
 * a small jump stub allocated above each module, since an EAT entry is a
 * 32-bit RVA). Go resolves those functions lazily with GetProcAddress, so it
 * gets the wrappers; every other caller (imports bound earlier, Wine's own
 * DLLs) is untouched.
 *
 * Build (test/wine/run does it): x86_64-w64-mingw32-gcc -O2 -shared \
 *     -static-libgcc -o bcryptprimitives.dll bcryptprimitives.c \
 *     bcryptprimitives.def -ladvapi32 -lws2_32 -lkernel32
 */
#include <winsock2.h>
#include <windows.h>
#include <stdint.h>
#include <string.h>

#ifndef SIO_UDP_NETRESET
#define SIO_UDP_NETRESET _WSAIOW(IOC_VENDOR, 15)
#endif

#define SHIM_STATUS_NOT_IMPLEMENTED   ((LONG)0xC0000002L)
#define SHIM_STATUS_INVALID_INFO_CLASS ((LONG)0xC0000003L)
#define SHIM_FileDispositionInformationEx 64

/* advapi32!SystemFunction036 == RtlGenRandom */
BOOLEAN WINAPI SystemFunction036(PVOID buf, ULONG len);

typedef int (WINAPI *wsaioctl_fn)(SOCKET, DWORD, LPVOID, DWORD, LPVOID, DWORD,
                                  LPDWORD, LPWSAOVERLAPPED,
                                  LPWSAOVERLAPPED_COMPLETION_ROUTINE);
typedef LONG (NTAPI *ntsetinfo_fn)(HANDLE, PVOID, PVOID, ULONG, ULONG);

static wsaioctl_fn real_WSAIoctl;
static FARPROC real_CreateSymbolicLinkW; /* kept only to show it was found */
static ntsetinfo_fn real_NtSetInformationFile;

static int WINAPI shim_WSAIoctl(SOCKET s, DWORD code, LPVOID in, DWORD inlen,
                                LPVOID out, DWORD outlen, LPDWORD ret,
                                LPWSAOVERLAPPED ov,
                                LPWSAOVERLAPPED_COMPLETION_ROUTINE cr)
{
    int r = real_WSAIoctl(s, code, in, inlen, out, outlen, ret, ov, cr);
    if (r == SOCKET_ERROR && code == SIO_UDP_NETRESET &&
        WSAGetLastError() == WSAEOPNOTSUPP) {
        if (ret)
            *ret = 0;
        WSASetLastError(0);
        return 0;
    }
    return r;
}

static LONG NTAPI shim_NtSetInformationFile(HANDLE h, PVOID iosb, PVOID info,
                                            ULONG len, ULONG cls)
{
    LONG st = real_NtSetInformationFile(h, iosb, info, len, cls);
    if (st == SHIM_STATUS_NOT_IMPLEMENTED &&
        cls == SHIM_FileDispositionInformationEx)
        return SHIM_STATUS_INVALID_INFO_CLASS;
    return st;
}

static BOOLEAN WINAPI shim_CreateSymbolicLinkW(LPCWSTR link, LPCWSTR target,
                                              DWORD flags)
{
    (void)link; (void)target; (void)flags;
    SetLastError(ERROR_PRIVILEGE_NOT_HELD);
    return FALSE;
}

/* A jmp [rip+0]; dq target stub placed at an address above `base` and within
 * 4 GiB of it, so that (stub - base) fits an EAT entry. */
static void *make_stub(BYTE *base, DWORD image_size, void *target)
{
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    uintptr_t gran = si.dwAllocationGranularity ? si.dwAllocationGranularity : 0x10000;
    uintptr_t start = ((uintptr_t)base + image_size + gran - 1) & ~(gran - 1);
    for (uintptr_t a = start; a - (uintptr_t)base < 0xF0000000u; a += gran) {
        BYTE *p = VirtualAlloc((void *)a, 4096, MEM_RESERVE | MEM_COMMIT,
                               PAGE_EXECUTE_READWRITE);
        if (!p)
            continue;
        if ((uintptr_t)p < (uintptr_t)base ||
            (uintptr_t)p - (uintptr_t)base >= 0xF0000000u) {
            VirtualFree(p, 0, MEM_RELEASE);
            continue;
        }
        p[0] = 0xFF; p[1] = 0x25;              /* jmp qword ptr [rip+0] */
        p[2] = p[3] = p[4] = p[5] = 0;
        memcpy(p + 6, &target, sizeof target);
        DWORD old;
        VirtualProtect(p, 4096, PAGE_EXECUTE_READ, &old);
        FlushInstructionCache(GetCurrentProcess(), p, 14);
        return p;
    }
    return NULL;
}

/* Repoints mod's export `name` at `wrapper`; stores the original (resolved
 * through GetProcAddress first, so a forwarded export works too) in *orig. */
static BOOL patch_export(HMODULE mod, const char *name, void *wrapper, void **orig)
{
    BYTE *base = (BYTE *)mod;
    if (!base)
        return FALSE;
    IMAGE_DOS_HEADER *dos = (IMAGE_DOS_HEADER *)base;
    IMAGE_NT_HEADERS *nt = (IMAGE_NT_HEADERS *)(base + dos->e_lfanew);
    IMAGE_DATA_DIRECTORY dir =
        nt->OptionalHeader.DataDirectory[IMAGE_DIRECTORY_ENTRY_EXPORT];
    if (!dir.VirtualAddress)
        return FALSE;
    IMAGE_EXPORT_DIRECTORY *ed = (IMAGE_EXPORT_DIRECTORY *)(base + dir.VirtualAddress);
    DWORD *funcs = (DWORD *)(base + ed->AddressOfFunctions);
    DWORD *names = (DWORD *)(base + ed->AddressOfNames);
    WORD *ords = (WORD *)(base + ed->AddressOfNameOrdinals);
    for (DWORD i = 0; i < ed->NumberOfNames; i++) {
        if (strcmp((const char *)(base + names[i]), name) != 0)
            continue;
        DWORD *slot = &funcs[ords[i]];
        FARPROC real = GetProcAddress(mod, name);
        if (!real)
            return FALSE;
        void *stub = make_stub(base, nt->OptionalHeader.SizeOfImage, wrapper);
        if (!stub)
            return FALSE;
        *orig = (void *)real;
        DWORD old;
        if (!VirtualProtect(slot, sizeof *slot, PAGE_READWRITE, &old))
            return FALSE;
        *slot = (DWORD)((BYTE *)stub - base);
        VirtualProtect(slot, sizeof *slot, old, &old);
        return TRUE;
    }
    return FALSE;
}

static INIT_ONCE patch_once = INIT_ONCE_STATIC_INIT;

/* A patch that could not be made is said with OutputDebugString: test/wine/run
 * checks for it with WINEDEBUG=warn+debugstr before it runs anything else. */
static BOOL CALLBACK do_patch(PINIT_ONCE once, PVOID param, PVOID *ctx)
{
    (void)once; (void)param; (void)ctx;
    HMODULE ws2 = LoadLibraryA("ws2_32.dll");
    HMODULE ntdll = GetModuleHandleA("ntdll.dll");
    HMODULE k32 = GetModuleHandleA("kernel32.dll");
    if (!patch_export(ws2, "WSAIoctl", (void *)shim_WSAIoctl,
                      (void **)&real_WSAIoctl))
        OutputDebugStringA("bcryptprimitives shim: WSAIoctl not patched\n");
    if (!patch_export(ntdll, "NtSetInformationFile",
                      (void *)shim_NtSetInformationFile,
                      (void **)&real_NtSetInformationFile))
        OutputDebugStringA("bcryptprimitives shim: NtSetInformationFile not patched\n");
    if (!patch_export(k32, "CreateSymbolicLinkW", (void *)shim_CreateSymbolicLinkW,
                      (void **)&real_CreateSymbolicLinkW))
        OutputDebugStringA("bcryptprimitives shim: CreateSymbolicLinkW not patched\n");
    return TRUE;
}

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    InitOnceExecuteOnce(&patch_once, do_patch, NULL, NULL);
    while (len > 0) {
        ULONG chunk = len > 0x10000000u ? 0x10000000u : (ULONG)len; /* 256 MiB */
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE inst, DWORD reason, LPVOID reserved)
{
    (void)reserved;
    if (reason == DLL_PROCESS_ATTACH)
        DisableThreadLibraryCalls(inst);
    return TRUE;
}
