// A PKCS#11 module for tests that forwards every call to a real module (SoftHSM2) and can
// be unplugged: while the file named by $IMPRINT_UNPLUG_FILE exists, the token is absent,
// as when a USB HSM is pulled. Sessions opened before an unplug are dead afterwards and
// the login is gone, as on real hardware. When $IMPRINT_LOGIN_COUNT_FILE names a file, each
// C_Login appends a line to it (what a guess at the PIN costs on a real token). A test double
// at the PKCS#11 seam only: the keys, sessions and signatures are SoftHSM2's.

#include <p11-kit/pkcs11.h>

#include <dlfcn.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>

namespace {

CK_FUNCTION_LIST_PTR real = nullptr;
CK_FUNCTION_LIST shim;
std::mutex mutex;
unsigned generation = 0; // one more after each unplug
bool wasUnplugged = false;
unsigned loginGeneration = ~0u;
std::map<CK_SESSION_HANDLE, unsigned> sessions;

/// Whether the token is out now; counts each new unplug. Called with the mutex held.
bool unplugged()
{
    const char* file = std::getenv("IMPRINT_UNPLUG_FILE");
    const bool out = file && ::access(file, F_OK) == 0;
    if (out && !wasUnplugged)
        ++generation;
    wasUnplugged = out;
    return out;
}

/// CKR_OK when `session` may be used now.
CK_RV usable(CK_SESSION_HANDLE session, bool needsLogin)
{
    std::lock_guard lock(mutex);
    if (unplugged())
        return CKR_DEVICE_REMOVED;
    auto it = sessions.find(session);
    if (it != sessions.end() && it->second != generation)
        return CKR_SESSION_HANDLE_INVALID;
    if (needsLogin && loginGeneration != generation)
        return CKR_USER_NOT_LOGGED_IN;
    return CKR_OK;
}

CK_RV getSlotList(CK_BBOOL tokenPresent, CK_SLOT_ID_PTR list, CK_ULONG_PTR count)
{
    {
        std::lock_guard lock(mutex);
        if (tokenPresent && unplugged()) {
            *count = 0;
            return CKR_OK;
        }
    }
    return real->C_GetSlotList(tokenPresent, list, count);
}

CK_RV getTokenInfo(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info)
{
    {
        std::lock_guard lock(mutex);
        if (unplugged())
            return CKR_TOKEN_NOT_PRESENT;
    }
    return real->C_GetTokenInfo(slot, info);
}

CK_RV openSession(CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR app, CK_NOTIFY notify, CK_SESSION_HANDLE_PTR session)
{
    std::lock_guard lock(mutex);
    if (unplugged())
        return CKR_TOKEN_NOT_PRESENT;
    const CK_RV rv = real->C_OpenSession(slot, flags, app, notify, session);
    if (rv == CKR_OK)
        sessions[*session] = generation;
    return rv;
}

CK_RV closeSession(CK_SESSION_HANDLE session)
{
    {
        std::lock_guard lock(mutex);
        sessions.erase(session);
    }
    return real->C_CloseSession(session);
}

CK_RV login(CK_SESSION_HANDLE session, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin, CK_ULONG len)
{
    if (const CK_RV rv = usable(session, false); rv != CKR_OK)
        return rv;
    CK_RV rv = real->C_Login(session, user, pin, len);
    if (const char* count = std::getenv("IMPRINT_LOGIN_COUNT_FILE")) {
        if (FILE* f = std::fopen(count, "a")) {
            std::fputs(rv == CKR_OK ? "ok\n" : "refused\n", f);
            std::fclose(f);
        }
    }
    std::lock_guard lock(mutex);
    if (rv == CKR_USER_ALREADY_LOGGED_IN && loginGeneration != generation)
        rv = CKR_OK; // SoftHSM2 never saw the unplug; the application must not notice
    if (rv == CKR_OK)
        loginGeneration = generation;
    return rv;
}

CK_RV signInit(CK_SESSION_HANDLE session, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key)
{
    if (const CK_RV rv = usable(session, true); rv != CKR_OK)
        return rv;
    return real->C_SignInit(session, mech, key);
}

CK_RV sign(CK_SESSION_HANDLE session, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig, CK_ULONG_PTR sigLen)
{
    if (const CK_RV rv = usable(session, true); rv != CKR_OK)
        return rv;
    return real->C_Sign(session, data, len, sig, sigLen);
}

CK_RV findObjectsInit(CK_SESSION_HANDLE session, CK_ATTRIBUTE_PTR tmpl, CK_ULONG count)
{
    if (const CK_RV rv = usable(session, false); rv != CKR_OK)
        return rv;
    return real->C_FindObjectsInit(session, tmpl, count);
}

CK_RV getSessionInfo(CK_SESSION_HANDLE session, CK_SESSION_INFO_PTR info)
{
    if (const CK_RV rv = usable(session, false); rv != CKR_OK)
        return rv;
    CK_RV rv = real->C_GetSessionInfo(session, info);
    std::lock_guard lock(mutex);
    if (rv == CKR_OK && loginGeneration != generation)
        info->state = CKS_RO_PUBLIC_SESSION; // the login was lost with the unplug
    return rv;
}

CK_RV getAttributeValue(CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object, CK_ATTRIBUTE_PTR tmpl, CK_ULONG count)
{
    if (const CK_RV rv = usable(session, false); rv != CKR_OK)
        return rv;
    return real->C_GetAttributeValue(session, object, tmpl, count);
}

} // namespace

extern "C" __attribute__((visibility("default"))) CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list)
{
    static std::once_flag once;
    static CK_RV loaded = CKR_GENERAL_ERROR;
    std::call_once(once, [] {
        void* module = dlopen(IMPRINT_UNPLUG_TARGET, RTLD_NOW | RTLD_LOCAL);
        auto get = module ? reinterpret_cast<CK_C_GetFunctionList>(dlsym(module, "C_GetFunctionList")) : nullptr;
        if (!get || get(&real) != CKR_OK)
            return;
        shim = *real;
        shim.C_GetSlotList = getSlotList;
        shim.C_GetTokenInfo = getTokenInfo;
        shim.C_OpenSession = openSession;
        shim.C_CloseSession = closeSession;
        shim.C_Login = login;
        shim.C_SignInit = signInit;
        shim.C_Sign = sign;
        shim.C_FindObjectsInit = findObjectsInit;
        shim.C_GetAttributeValue = getAttributeValue;
        shim.C_GetSessionInfo = getSessionInfo;
        loaded = CKR_OK;
    });
    if (loaded != CKR_OK)
        return loaded;
    *list = &shim;
    return CKR_OK;
}
