#!/usr/bin/env python3
"""An independent attempt to get a private key out of a PKCS#11 token, straight through the
module's C API (ctypes), without any Imprint code.

usage: try_export.py MODULE TOKEN_LABEL KEY_LABEL PIN_FILE
Tries to read the key's value (CKA_VALUE) and to wrap it under a fresh AES key. Prints what the
token answered and exits 0 only if it refused both (the key cannot leave the token).
"""
import ctypes
import sys

CK_ULONG = ctypes.c_ulong


class Attribute(ctypes.Structure):
    _fields_ = [("type", CK_ULONG), ("value", ctypes.c_void_p), ("length", CK_ULONG)]


class Mechanism(ctypes.Structure):
    _fields_ = [("mechanism", CK_ULONG), ("parameter", ctypes.c_void_p), ("length", CK_ULONG)]


CKA_CLASS, CKA_TOKEN, CKA_LABEL, CKA_VALUE, CKA_WRAP, CKA_VALUE_LEN = 0x0, 0x1, 0x3, 0x11, 0x106, 0x161
CKO_PRIVATE_KEY = 3
CKM_AES_KEY_GEN, CKM_AES_KEY_WRAP_PAD = 0x1080, 0x210A
NAMES = {0x0: "CKR_OK", 0x11: "CKR_ATTRIBUTE_SENSITIVE", 0x69: "CKR_KEY_NOT_WRAPPABLE",
         0x6A: "CKR_KEY_UNEXTRACTABLE", 0x70: "CKR_MECHANISM_INVALID"}


def ulong_attr(kind, value):
    v = CK_ULONG(value)
    return Attribute(kind, ctypes.cast(ctypes.pointer(v), ctypes.c_void_p), ctypes.sizeof(v)), v


def main():
    module, token, key_label, pin_file = sys.argv[1:5]
    p11 = ctypes.CDLL(module)
    pin = open(pin_file, "rb").read().strip()

    def call(name, *args):
        rv = getattr(p11, name)(*args)
        return rv & 0xFFFFFFFF

    assert call("C_Initialize", None) == 0
    count = CK_ULONG(0)
    assert call("C_GetSlotList", ctypes.c_ubyte(1), None, ctypes.byref(count)) == 0
    slots = (CK_ULONG * count.value)()
    assert call("C_GetSlotList", ctypes.c_ubyte(1), slots, ctypes.byref(count)) == 0
    slot = None
    for s in slots:
        info = ctypes.create_string_buffer(1024)
        if call("C_GetTokenInfo", CK_ULONG(s), info) == 0 and info.raw[:32].rstrip(b" \0").decode() == token:
            slot = s
    if slot is None:
        print("token not found")
        return 2
    session = CK_ULONG(0)
    assert call("C_OpenSession", CK_ULONG(slot), CK_ULONG(6), None, None, ctypes.byref(session)) == 0
    assert call("C_Login", session, CK_ULONG(1), ctypes.c_char_p(pin), CK_ULONG(len(pin))) == 0

    cls_attr, cls_keep = ulong_attr(CKA_CLASS, CKO_PRIVATE_KEY)
    label = ctypes.create_string_buffer(key_label.encode(), len(key_label))
    template = (Attribute * 2)(cls_attr, Attribute(CKA_LABEL, ctypes.cast(label, ctypes.c_void_p), len(key_label)))
    key, found = CK_ULONG(0), CK_ULONG(0)
    assert call("C_FindObjectsInit", session, template, CK_ULONG(2)) == 0
    assert call("C_FindObjects", session, ctypes.byref(key), CK_ULONG(1), ctypes.byref(found)) == 0
    call("C_FindObjectsFinal", session)
    if found.value != 1:
        print("key not found")
        return 2

    value = (Attribute * 1)(Attribute(CKA_VALUE, None, 0))
    read_rv = call("C_GetAttributeValue", session, key, value, CK_ULONG(1))
    print("read CKA_VALUE:", NAMES.get(read_rv, hex(read_rv)))

    true = ctypes.c_ubyte(1)
    false = ctypes.c_ubyte(0)
    len_attr, len_keep = ulong_attr(CKA_VALUE_LEN, 32)
    aes_template = (Attribute * 3)(len_attr, Attribute(CKA_WRAP, ctypes.cast(ctypes.pointer(true), ctypes.c_void_p), 1),
                                   Attribute(CKA_TOKEN, ctypes.cast(ctypes.pointer(false), ctypes.c_void_p), 1))
    aes = CK_ULONG(0)
    gen = Mechanism(CKM_AES_KEY_GEN, None, 0)
    assert call("C_GenerateKey", session, ctypes.byref(gen), aes_template, CK_ULONG(3), ctypes.byref(aes)) == 0
    wrap = Mechanism(CKM_AES_KEY_WRAP_PAD, None, 0)
    wrapped_len = CK_ULONG(0)
    wrap_rv = call("C_WrapKey", session, ctypes.byref(wrap), aes, key, None, ctypes.byref(wrapped_len))
    print("wrap under AES:", NAMES.get(wrap_rv, hex(wrap_rv)))
    call("C_Logout", session)
    call("C_Finalize", None)
    return 0 if read_rv == 0x11 and wrap_rv in (0x69, 0x6A) else 1


if __name__ == "__main__":
    sys.exit(main())
