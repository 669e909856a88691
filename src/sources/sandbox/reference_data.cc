#include "sources/sandbox/reference_data.h"

namespace finsync::sources::sandbox {
namespace {

using Names = std::string_view[];

// Germany.
constexpr Merchant kDeGroceries[] = {{"REWE", "REWE MARKT GMBH", true},
                                     {"EDEKA", "EDEKA CENTER", true},
                                     {"ALDI SÜD", "ALDI SUED", true},
                                     {"Lidl", "LIDL DIENSTL", true},
                                     {"Kaufland", "KAUFLAND", true}};
constexpr Merchant kDeCafes[] = {{"Starbucks", "STARBUCKS", true},
                                 {"Bäckerei Kamps", "BAECKEREI KAMPS", true},
                                 {"Tchibo", "TCHIBO FILIALE", true}};
constexpr Merchant kDeRestaurants[] = {{"Vapiano", "VAPIANO", false},
                                       {"L'Osteria", "L OSTERIA", false},
                                       {"Block House", "BLOCK HOUSE", false}};
constexpr Merchant kDeFuel[] = {
    {"Aral", "ARAL STATION", true}, {"Shell", "SHELL", true}, {"JET", "JET TANKSTELLE", true}};
constexpr Merchant kDeOnline[] = {{"Amazon.de", "AMZN MKTP DE", false},
                                  {"Zalando", "ZALANDO SE", false},
                                  {"OTTO", "OTTO GMBH", false}};
constexpr Merchant kDeTransport[] = {{"DB Fernverkehr", "DB VERTRIEB GMBH", false},
                                     {"BVG", "BVG TICKET", false},
                                     {"MVG", "MVG AUTOMAT", false}};
constexpr Merchant kDePharmacy[] = {{"dm-drogerie markt", "DM DROGERIE", true},
                                    {"Rossmann", "ROSSMANN", true}};
constexpr Merchant kDeCash[] = {{"Geldautomat Sparkasse", "GA SPARKASSE", true}};
constexpr City kDeCities[] = {{"Berlin", "BERLIN"},
                              {"München", "MUENCHEN"},
                              {"Hamburg", "HAMBURG"},
                              {"Köln", "KOELN"},
                              {"Frankfurt am Main", "FRANKFURT"}};
constexpr Names kDeFirstNames = {"Anna", "Lukas", "Sophie", "Jonas", "Marie", "Felix"};
constexpr Names kDeLastNames = {"Müller", "Schmidt", "Schneider", "Fischer", "Weber"};
constexpr Names kDeEmployers = {"Nordlicht Software GmbH", "Havelblick Logistik AG",
                                "Rheinufer Versicherungen AG"};
constexpr Names kDeLandlords = {"Spreeufer Wohnen GmbH", "Hausverwaltung Lindenhof KG"};
constexpr Names kDeBankCodes = {"10099001", "20099002", "37099003"};

// The Netherlands.
constexpr Merchant kNlGroceries[] = {{"Albert Heijn", "ALBERT HEIJN", true},
                                     {"Jumbo", "JUMBO", true},
                                     {"Lidl", "LIDL", true},
                                     {"PLUS", "PLUS", true},
                                     {"Dirk van den Broek", "DIRK VDBROEK", true}};
constexpr Merchant kNlCafes[] = {{"Starbucks", "STARBUCKS", true},
                                 {"Bagels & Beans", "BAGELS BEANS", false},
                                 {"Coffee Company", "COFFEECOMPANY", false}};
constexpr Merchant kNlRestaurants[] = {
    {"Wagamama", "WAGAMAMA", false}, {"FEBO", "FEBO", true}, {"Vapiano", "VAPIANO", false}};
constexpr Merchant kNlFuel[] = {
    {"Shell", "SHELL", true}, {"BP", "BP", true}, {"TinQ", "TINQ", true}};
constexpr Merchant kNlOnline[] = {{"bol.com", "BOL.COM", false},
                                  {"Coolblue", "COOLBLUE BV", false},
                                  {"Zalando", "ZALANDO", false}};
constexpr Merchant kNlTransport[] = {
    {"NS Groep", "NS GROEP IZ REIZIGERS", false}, {"GVB", "GVB", false}, {"RET", "RET", false}};
constexpr Merchant kNlPharmacy[] = {{"Kruidvat", "KRUIDVAT", true}, {"Etos", "ETOS", true}};
constexpr Merchant kNlCash[] = {{"Geldmaat", "GELDMAAT", true}};
constexpr City kNlCities[] = {{"Amsterdam", "AMSTERDAM"},
                              {"Rotterdam", "ROTTERDAM"},
                              {"Utrecht", "UTRECHT"},
                              {"Den Haag", "DEN HAAG"},
                              {"Eindhoven", "EINDHOVEN"}};
constexpr Names kNlFirstNames = {"Daan", "Emma", "Sem", "Julia", "Lotte", "Bram"};
constexpr Names kNlLastNames = {"de Jong", "Jansen", "de Vries", "van den Berg", "Bakker"};
constexpr Names kNlEmployers = {"Grachtenpand Consultancy B.V.", "Polderlicht Energie B.V."};
constexpr Names kNlLandlords = {"De Woonhaven B.V.", "Stichting Amstelwonen"};
constexpr Names kNlBankCodes = {"SBXA", "SBXB", "SBXC"};

// France.
constexpr Merchant kFrGroceries[] = {{"Carrefour", "CARREFOUR CITY", true},
                                     {"Monoprix", "MONOPRIX", true},
                                     {"Franprix", "FRANPRIX", true},
                                     {"Intermarché", "INTERMARCHE", true}};
constexpr Merchant kFrCafes[] = {{"Paul", "PAUL", true},
                                 {"Columbus Café", "COLUMBUS CAFE", false},
                                 {"Starbucks", "STARBUCKS", true}};
constexpr Merchant kFrRestaurants[] = {{"Big Mamma", "BIG MAMMA", false},
                                       {"Hippopotamus", "HIPPOPOTAMUS", false},
                                       {"Bouillon Chartier", "BOUILLON CHARTIER", false}};
constexpr Merchant kFrFuel[] = {{"TotalEnergies", "TOTALENERGIES", true}, {"Esso", "ESSO", true}};
constexpr Merchant kFrOnline[] = {{"Fnac", "FNAC.COM", false},
                                  {"Cdiscount", "CDISCOUNT", false},
                                  {"Amazon.fr", "AMAZON PAYMENTS", false}};
constexpr Merchant kFrTransport[] = {{"RATP", "RATP", false},
                                     {"SNCF Connect", "SNCF INTERNET", false}};
constexpr Merchant kFrPharmacy[] = {{"Pharmacie Lafayette", "PHIE LAFAYETTE", true}};
constexpr Merchant kFrCash[] = {{"Retrait DAB", "RETRAIT DAB", true}};
constexpr City kFrCities[] = {{"Paris", "PARIS"},
                              {"Lyon", "LYON"},
                              {"Marseille", "MARSEILLE"},
                              {"Toulouse", "TOULOUSE"},
                              {"Bordeaux", "BORDEAUX"}};
constexpr Names kFrFirstNames = {"Camille", "Louis", "Chloé", "Hugo", "Léa", "Arthur"};
constexpr Names kFrLastNames = {"Martin", "Bernard", "Dubois", "Lefèvre", "Moreau"};
constexpr Names kFrEmployers = {"Atelier Lumière SAS", "Société Générale de Logiciels SARL"};
constexpr Names kFrLandlords = {"SCI Les Tilleuls", "Foncière Haussmann SA"};
constexpr Names kFrBankCodes = {"30098", "30097", "30096"};

// The United Kingdom.
constexpr Merchant kGbGroceries[] = {{"Tesco", "TESCO STORES", true},
                                     {"Sainsbury's", "SAINSBURYS S/MKTS", true},
                                     {"Waitrose", "WAITROSE", true},
                                     {"Co-op", "CO-OP GROUP", true}};
constexpr Merchant kGbCafes[] = {{"Pret A Manger", "PRET A MANGER", false},
                                 {"Costa Coffee", "COSTA COFFEE", true},
                                 {"Caffè Nero", "CAFFE NERO", true}};
constexpr Merchant kGbRestaurants[] = {
    {"Nando's", "NANDOS", false}, {"Wagamama", "WAGAMAMA", false}, {"Dishoom", "DISHOOM", false}};
constexpr Merchant kGbFuel[] = {{"BP", "BP", true}, {"Shell", "SHELL", true}};
constexpr Merchant kGbOnline[] = {{"Amazon.co.uk", "AMAZON.CO.UK", false},
                                  {"ASOS", "ASOS.COM", false},
                                  {"Argos", "ARGOS LTD", false}};
constexpr Merchant kGbTransport[] = {{"TfL", "TFL TRAVEL CH", false},
                                     {"Trainline", "TRAINLINE", false}};
constexpr Merchant kGbPharmacy[] = {{"Boots", "BOOTS", true}};
constexpr Merchant kGbCash[] = {{"Cash machine", "CASH NOTEMCHN", true}};
constexpr City kGbCities[] = {{"London", "LONDON"},
                              {"Manchester", "MANCHESTER"},
                              {"Birmingham", "BIRMINGHAM"},
                              {"Leeds", "LEEDS"},
                              {"Bristol", "BRISTOL"}};
constexpr Names kGbFirstNames = {"Oliver", "Amelia", "George", "Isla", "Harry", "Ava"};
constexpr Names kGbLastNames = {"Smith", "Jones", "Taylor", "Brown", "Williams"};
constexpr Names kGbEmployers = {"Thames Analytics Ltd", "Pennine Robotics plc"};
constexpr Names kGbLandlords = {"Kensington Lettings Ltd", "Northgate Property Management"};
constexpr Names kGbBankCodes = {"SBXA", "SBXB", "SBXC"};

// Sweden.
constexpr Merchant kSeGroceries[] = {{"ICA Supermarket", "ICA SUPERMARKET", true},
                                     {"Coop", "COOP KONSUM", true},
                                     {"Hemköp", "HEMKOP", true},
                                     {"Willys", "WILLYS", true}};
constexpr Merchant kSeCafes[] = {{"Espresso House", "ESPRESSO HOUSE", true},
                                 {"Pressbyrån", "PRESSBYRAN", true},
                                 {"Wayne's Coffee", "WAYNES COFFEE", false}};
constexpr Merchant kSeRestaurants[] = {{"Max Burgers", "MAX HAMBURGARE", true},
                                       {"Vapiano", "VAPIANO", false}};
constexpr Merchant kSeFuel[] = {
    {"Circle K", "CIRCLE K", true}, {"Preem", "PREEM", true}, {"OKQ8", "OKQ8", true}};
constexpr Merchant kSeOnline[] = {
    {"CDON", "CDON.COM", false}, {"Zalando", "ZALANDO SE", false}, {"Apotea", "APOTEA.SE", false}};
constexpr Merchant kSeTransport[] = {{"SL", "SL SODERSTATION", false}, {"SJ", "SJ AB", false}};
constexpr Merchant kSePharmacy[] = {{"Apotek Hjärtat", "APOTEK HJARTAT", true},
                                    {"Apoteket", "APOTEKET AB", true}};
constexpr Merchant kSeCash[] = {{"Bankomat", "BANKOMAT", true}};
constexpr City kSeCities[] = {{"Stockholm", "STOCKHOLM"},
                              {"Göteborg", "GOTEBORG"},
                              {"Malmö", "MALMO"},
                              {"Uppsala", "UPPSALA"}};
constexpr Names kSeFirstNames = {"Elsa", "William", "Astrid", "Oscar", "Maja", "Hugo"};
constexpr Names kSeLastNames = {"Andersson", "Johansson", "Karlsson", "Nilsson", "Ström"};
constexpr Names kSeEmployers = {"Fjällbacka Teknik AB", "Norrsken Data AB"};
constexpr Names kSeLandlords = {"Brf Solgläntan", "Stockholmshem AB"};
constexpr Names kSeBankCodes = {"919", "918", "917"};

constexpr CountryProfile kCountries[] = {
    {.code = "DE",
     .currency = "EUR",
     .merchants = {kDeGroceries, kDeCafes, kDeRestaurants, kDeFuel, kDeOnline, kDeTransport,
                   kDePharmacy, kDeCash},
     .cities = kDeCities,
     .first_names = kDeFirstNames,
     .last_names = kDeLastNames,
     .employers = kDeEmployers,
     .landlords = kDeLandlords,
     .counterparty_bank_codes = kDeBankCodes,
     .gym = {"McFit", "MCFIT GMBH", false},
     .checking_name = "Girokonto",
     .checking_product = "Girokonto Plus",
     .savings_name = "Tagesgeldkonto",
     .savings_product = "Tagesgeld Flex"},
    {.code = "NL",
     .currency = "EUR",
     .merchants = {kNlGroceries, kNlCafes, kNlRestaurants, kNlFuel, kNlOnline, kNlTransport,
                   kNlPharmacy, kNlCash},
     .cities = kNlCities,
     .first_names = kNlFirstNames,
     .last_names = kNlLastNames,
     .employers = kNlEmployers,
     .landlords = kNlLandlords,
     .counterparty_bank_codes = kNlBankCodes,
     .gym = {"Basic-Fit", "BASIC-FIT NEDERLAND", false},
     .checking_name = "Betaalrekening",
     .checking_product = "Basispakket",
     .savings_name = "Spaarrekening",
     .savings_product = "Direct Sparen"},
    {.code = "FR",
     .currency = "EUR",
     .merchants = {kFrGroceries, kFrCafes, kFrRestaurants, kFrFuel, kFrOnline, kFrTransport,
                   kFrPharmacy, kFrCash},
     .cities = kFrCities,
     .first_names = kFrFirstNames,
     .last_names = kFrLastNames,
     .employers = kFrEmployers,
     .landlords = kFrLandlords,
     .counterparty_bank_codes = kFrBankCodes,
     .gym = {"Basic-Fit", "BASIC FIT FRANCE", false},
     .checking_name = "Compte courant",
     .checking_product = "Compte de dépôt",
     .savings_name = "Livret A",
     .savings_product = "Livret A"},
    {.code = "GB",
     .currency = "GBP",
     .merchants = {kGbGroceries, kGbCafes, kGbRestaurants, kGbFuel, kGbOnline, kGbTransport,
                   kGbPharmacy, kGbCash},
     .cities = kGbCities,
     .first_names = kGbFirstNames,
     .last_names = kGbLastNames,
     .employers = kGbEmployers,
     .landlords = kGbLandlords,
     .counterparty_bank_codes = kGbBankCodes,
     .gym = {"PureGym", "PUREGYM LTD", false},
     .checking_name = "Current Account",
     .checking_product = "Classic Current Account",
     .savings_name = "Savings Account",
     .savings_product = "Easy Access Saver"},
    {.code = "SE",
     .currency = "SEK",
     .merchants = {kSeGroceries, kSeCafes, kSeRestaurants, kSeFuel, kSeOnline, kSeTransport,
                   kSePharmacy, kSeCash},
     .cities = kSeCities,
     .first_names = kSeFirstNames,
     .last_names = kSeLastNames,
     .employers = kSeEmployers,
     .landlords = kSeLandlords,
     .counterparty_bank_codes = kSeBankCodes,
     .gym = {"SATS", "SATS SVERIGE AB", false},
     .checking_name = "Privatkonto",
     .checking_product = "Privatkonto",
     .savings_name = "Sparkonto",
     .savings_product = "E-sparkonto"},
};

constexpr ForeignMerchant kForeignMerchants[] = {
    {"Walgreens", "WALGREENS #4312", "NEW YORK", "US", "USD"},
    {"Uber", "UBER *TRIP", "SAN FRANCISCO", "US", "USD"},
    {"Migros", "MIGROS", "ZUERICH", "CH", "CHF"},
    {"7-Eleven", "7-ELEVEN", "KOEBENHAVN", "DK", "DKK"},
    {"Narvesen", "NARVESEN", "OSLO", "NO", "NOK"},
    {"Żabka", "ZABKA Z4471", "KRAKOW", "PL", "PLN"},
    {"Hotel Arts", "HOTEL ARTS", "LONDON", "GB", "GBP"},
    {"Systembolaget", "SYSTEMBOLAGET", "STOCKHOLM", "SE", "SEK"},
    {"Albert Heijn", "ALBERT HEIJN 1021", "AMSTERDAM", "NL", "EUR"},
};

struct EuroRate {
  std::string_view currency;
  int64_t units_per_euro_micros;
};

// Round figures near 2024 market rates; the sandbox needs plausibility, not accuracy.
constexpr EuroRate kEuroRates[] = {
    {"EUR", 1'000'000}, {"GBP", 860'000},   {"SEK", 11'400'000}, {"USD", 1'090'000},
    {"CHF", 950'000},   {"DKK", 7'460'000}, {"NOK", 11'600'000}, {"PLN", 4'300'000},
};

}  // namespace

std::string_view MerchantCategoryCode(Category category) {
  switch (category) {
    case Category::kGroceries:
      return "5411";
    case Category::kCafe:
      return "5814";
    case Category::kRestaurant:
      return "5812";
    case Category::kFuel:
      return "5541";
    case Category::kOnlineShop:
      return "5399";
    case Category::kTransport:
      return "4111";
    case Category::kPharmacy:
      return "5912";
    case Category::kCashWithdrawal:
      return "6011";
  }
  return "5999";
}

const CountryProfile* FindCountryProfile(std::string_view country_code) {
  for (const CountryProfile& profile : kCountries) {
    if (profile.code == country_code) return &profile;
  }
  return nullptr;
}

const CountryProfile* CountryProfileForCurrency(std::string_view currency) {
  if (currency == "GBP") return FindCountryProfile("GB");
  if (currency == "SEK") return FindCountryProfile("SE");
  return FindCountryProfile("DE");
}

std::span<const ForeignMerchant> ForeignMerchants() { return kForeignMerchants; }

int64_t EuroRateMicros(std::string_view currency) {
  for (const EuroRate& rate : kEuroRates) {
    if (rate.currency == currency) return rate.units_per_euro_micros;
  }
  return 0;
}

SubscriptionPrices SubscriptionPricesIn(std::string_view currency) {
  if (currency == "GBP") return {1099, 1199, 2499};
  if (currency == "SEK") return {14900, 12900, 39900};
  return {1399, 1199, 2999};
}

}  // namespace finsync::sources::sandbox
