// Symbols' private state, shared by the files that implement Symbols
// (symbols.cc, window.cc): the libdwfl session, the ELF symbol table by
// name, and the lock every libdw call is made under.
#pragma once

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "rig/dwarf/symbols.h"

namespace racerig::dwarf {

// Name of a DIE, following DW_AT_abstract_origin / DW_AT_specification;
// nullptr when it has none.
inline const char* die_name(Dwarf_Die* die) {
  Dwarf_Attribute attr;
  if (dwarf_attr_integrate(die, DW_AT_name, &attr) != nullptr) return dwarf_formstring(&attr);
  return nullptr;
}

struct Symbols::Impl {
  Dwfl* dwfl = nullptr;
  Dwfl_Module* mod = nullptr;
  struct Sym {
    uint64_t addr;
    uint64_t size;
    bool function;
  };
  std::unordered_map<std::string, Sym> by_name;
  mutable std::mutex lock;  // libdw is not thread-safe

  ~Impl() {
    if (dwfl != nullptr) dwfl_end(dwfl);
  }

  bool find_struct(Dwarf_Die* scope, std::string_view name, Dwarf_Die* out) const {
    Dwarf_Die child;
    if (dwarf_child(scope, &child) != 0) return false;
    do {
      int tag = dwarf_tag(&child);
      if (tag == DW_TAG_structure_type || tag == DW_TAG_union_type) {
        const char* n = dwarf_diename(&child);
        if (n != nullptr && name == n && !dwarf_hasattr(&child, DW_AT_declaration)) {
          *out = child;
          return true;
        }
      }
    } while (dwarf_siblingof(&child, &child) == 0);
    return false;
  }

  // The struct/union type of the global variable `name` declared or defined
  // at the top level of `cu`, through typedefs and qualifiers; false when the
  // CU does not have it or only has an incomplete type.
  bool find_variable_type(Dwarf_Die* cu, std::string_view name, Dwarf_Die* out) const {
    Dwarf_Die child;
    if (dwarf_child(cu, &child) != 0) return false;
    do {
      if (dwarf_tag(&child) != DW_TAG_variable) continue;
      const char* n = dwarf_diename(&child);
      if (n == nullptr || name != n) continue;
      Dwarf_Attribute attr;
      Dwarf_Die t;
      if (dwarf_attr_integrate(&child, DW_AT_type, &attr) == nullptr || dwarf_formref_die(&attr, &t) == nullptr)
        continue;
      if (!strip_type(&t)) continue;
      int tag = dwarf_tag(&t);
      if ((tag == DW_TAG_structure_type || tag == DW_TAG_union_type) && !dwarf_hasattr(&t, DW_AT_declaration)) {
        *out = t;
        return true;
      }
    } while (dwarf_siblingof(&child, &child) == 0);
    return false;
  }

  // Follows typedefs and const/volatile qualifiers to the underlying type.
  static bool strip_type(Dwarf_Die* t) {
    Dwarf_Attribute attr;
    while (dwarf_tag(t) == DW_TAG_typedef || dwarf_tag(t) == DW_TAG_const_type ||
           dwarf_tag(t) == DW_TAG_volatile_type) {
      if (dwarf_attr(t, DW_AT_type, &attr) == nullptr || dwarf_formref_die(&attr, t) == nullptr) return false;
    }
    return true;
  }

  // Offset of `member` in the struct/union `type`, through anonymous members.
  std::optional<uint64_t> find_member(Dwarf_Die* type, std::string_view member) const {
    Dwarf_Die child;
    if (dwarf_child(type, &child) != 0) return std::nullopt;
    do {
      if (dwarf_tag(&child) != DW_TAG_member) continue;
      Dwarf_Word loc = 0;
      Dwarf_Attribute attr;
      if (dwarf_attr(&child, DW_AT_data_member_location, &attr) != nullptr) dwarf_formudata(&attr, &loc);
      const char* n = dwarf_diename(&child);
      if (n != nullptr) {
        if (member == n) return loc;
        continue;
      }
      // Anonymous struct or union: look inside.
      Dwarf_Die t;
      if (dwarf_attr(&child, DW_AT_type, &attr) == nullptr || dwarf_formref_die(&attr, &t) == nullptr) continue;
      if (!strip_type(&t)) continue;
      if (auto inner = find_member(&t, member)) return loc + *inner;
    } while (dwarf_siblingof(&child, &child) == 0);
    return std::nullopt;
  }
};

}  // namespace racerig::dwarf
