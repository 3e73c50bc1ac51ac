"""Crafted ELF executables for the tests of rtprof's ELF readers: a real program (it runs as before) whose
section header table claims tables larger than any real one, over a sparse hole -- gigabytes that take a
few kilobytes of disk."""
import os
import shutil
import struct

SHT_SYMTAB, SHT_STRTAB = 2, 3


def sparse_symbols(base, path, claim=5 << 30):
    """Copy ELF64 little-endian `base` to `path` with a new section header table that adds a .symtab and
    its .strtab, each `claim` bytes long, in a hole at the end of the file. Returns the file's size."""
    shutil.copy(base, path)
    with open(path, "r+b") as f:
        data = bytearray(f.read())
        if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
            raise ValueError("%s is not a little-endian ELF64 file" % base)
        shoff, = struct.unpack_from("<Q", data, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3a)
        table = bytes(data[shoff:shoff + shentsize * shnum])
        names_hdr = table[shstrndx * shentsize:(shstrndx + 1) * shentsize]
        names_off, names_size = struct.unpack_from("<QQ", names_hdr, 0x18)
        # the section names' table grows by the two new names, copied to the end of the file
        names = bytes(data[names_off:names_off + names_size]) + b".symtab\0.strtab\0"
        sym_name, str_name = names_size, names_size + len(".symtab\0")
        end = len(data)
        new_names_off = (end + 7) & ~7
        new_shoff = (new_names_off + len(names) + 7) & ~7
        hole = (new_shoff + shentsize * (shnum + 2) + 4095) & ~4095
        entries = [bytearray(table[i * shentsize:(i + 1) * shentsize]) for i in range(shnum)]
        struct.pack_into("<QQ", entries[shstrndx], 0x18, new_names_off, len(names))
        strtab_index = shnum + 1
        symtab = struct.pack("<IIQQQQIIQQ", sym_name, SHT_SYMTAB, 0, 0, hole, claim - claim % 24,
                             strtab_index, 0, 8, 24)
        strtab = struct.pack("<IIQQQQIIQQ", str_name, SHT_STRTAB, 0, 0, hole + claim, claim, 0, 0, 1, 0)
        f.seek(new_names_off)
        f.write(names)
        f.seek(new_shoff)
        f.write(b"".join(bytes(e) for e in entries) + symtab + strtab)
        f.seek(0x28)
        f.write(struct.pack("<Q", new_shoff))
        f.seek(0x3c)
        f.write(struct.pack("<H", shnum + 2))
        f.truncate(hole + 2 * claim)
    return os.path.getsize(path)
