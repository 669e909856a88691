#include "sources/sandbox/bank_profiles.h"

namespace finsync::sources::sandbox {
namespace {

// Logos are inline SVG data URLs: a self-hosted server shows them without fetching anything
// from a third party, and they can never go stale.
#define FINSYNC_SANDBOX_LOGO(colour)                                                    \
  "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 64 64'%3E" \
  "%3Crect width='64' height='64' rx='12' fill='%23" colour                             \
  "'/%3E%3Ctext x='32' y='41'"                                                          \
  " font-family='sans-serif' font-size='22' text-anchor='middle' fill='white'%3ESB"     \
  "%3C/text%3E%3C/svg%3E"

constexpr BankProfile kBanks[] = {
    {.id = "SANDBOX_FINSYNC_SBXFDEB1",
     .name = "finsync Sandbox Bank",
     .bic = "SBXFDEB1",
     .countries = {"DE"},
     .logo_url = FINSYNC_SANDBOX_LOGO("0b7a75"),
     .home_country = "DE",
     .currency = "EUR",
     .bank_code = "10090999",
     .merchant_field = MerchantField::kRemittance,
     .pending_ids = PendingIdStyle::kNone},
    {.id = "SANDBOX_FINSYNC_SBXFFRPP",
     .name = "finsync Sandbox Bank (no pending)",
     .bic = "SBXFFRPP",
     .countries = {"FR"},
     .logo_url = FINSYNC_SANDBOX_LOGO("1d4e89"),
     .supports_pending_transactions = false,
     .max_historical_days = 365,
     .home_country = "FR",
     .currency = "EUR",
     .bank_code = "30099",
     .merchant_field = MerchantField::kCreditorName},
    {.id = "SANDBOX_FINSYNC_SBXFGB2L",
     .name = "finsync Sandbox Bank (90-day consent)",
     .bic = "SBXFGB2L",
     .countries = {"GB"},
     .logo_url = FINSYNC_SANDBOX_LOGO("6a3d9a"),
     .max_access_valid_for_days = 90,
     .home_country = "GB",
     .currency = "GBP",
     .bank_code = "SBXF",
     .merchant_field = MerchantField::kCreditorName,
     .pending_ids = PendingIdStyle::kTemporary},
    {.id = "SANDBOX_FINSYNC_SBXFNL2A",
     .name = "finsync Sandbox Bank",
     .bic = "SBXFNL2A",
     .countries = {"NL"},
     .logo_url = FINSYNC_SANDBOX_LOGO("e3701a"),
     .home_country = "NL",
     .currency = "EUR",
     .bank_code = "SBXF",
     .merchant_field = MerchantField::kCreditorName,
     .pending_ids = PendingIdStyle::kTemporary,
     .internal_id_survives_booking = true},
    {.id = "SANDBOX_FINSYNC_SBXFNL2N",
     .name = "finsync Sandbox Neobank",
     .bic = "SBXFNL2N",
     .countries = {"NL", "DE", "FR"},
     .logo_url = FINSYNC_SANDBOX_LOGO("222222"),
     .max_historical_days = 540,
     .home_country = "NL",
     .currency = "EUR",
     .bank_code = "SBXN",
     .merchant_field = MerchantField::kRemittance,
     .pending_ids = PendingIdStyle::kTemporary,
     .remittance_array = true},
    {.id = "SANDBOX_FINSYNC_SBXFSESS",
     .name = "finsync Sandbox Bank",
     .bic = "SBXFSESS",
     .countries = {"SE"},
     .logo_url = FINSYNC_SANDBOX_LOGO("b8860b"),
     .home_country = "SE",
     .currency = "SEK",
     .bank_code = "990",
     .merchant_field = MerchantField::kAdditionalInformation,
     .pending_ids = PendingIdStyle::kNone,
     .reports_expected_balance = true},
};

#undef FINSYNC_SANDBOX_LOGO

}  // namespace

std::span<const BankProfile> SandboxBankProfiles() { return kBanks; }

const BankProfile* FindSandboxBankProfile(std::string_view bank_id) {
  for (const BankProfile& bank : kBanks) {
    if (bank.id == bank_id) return &bank;
  }
  return nullptr;
}

}  // namespace finsync::sources::sandbox
