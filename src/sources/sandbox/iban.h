// IBANs (ISO 13616) for the sandbox bank's accounts and counterparties. The check digits are
// computed, not invented, so every sandbox IBAN passes the validation that real destinations
// and budgeting apps apply.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace finsync::sources::sandbox {

// The two check digits ("02".."98") for a country code and BBAN, by ISO 7064 MOD 97-10:
// the digits that make the rearranged IBAN leave remainder 1. The BBAN must hold only ASCII
// digits and upper-case letters, and the country code two upper-case letters.
std::string IbanCheckDigits(std::string_view country_code, std::string_view bban);

// country code + check digits + BBAN.
std::string MakeIban(std::string_view country_code, std::string_view bban);

// True when the text is an IBAN in electronic form (no spaces): two letters, two digits, up
// to 30 alphanumerics, the registered length for the countries the sandbox knows, and a
// remainder of 1 modulo 97.
bool IsValidIban(std::string_view iban);

// The French RIB key: 97 - ((89 * bank + 15 * branch + 3 * account) mod 97), where letters in
// the account number count as digits by the Banque de France table. bank and branch have five
// digits, account eleven characters.
int32_t FrenchRibKey(std::string_view bank_code, std::string_view branch_code,
                     std::string_view account_number);

// A BBAN for an account of `bank_code` in `country_code`, with the account number drawn from
// `hash`: DE, NL, FR, GB, SE, LT. nullopt for other countries.
std::optional<std::string> MakeBban(std::string_view country_code, std::string_view bank_code,
                                    uint64_t hash);

}  // namespace finsync::sources::sandbox
