/* SPDX-License-Identifier: MIT */
/*
 * geo_country.c -- ISO 3166-1 alpha-2 country code -> continent code, for
 * DBs whose records carry a country but no continent (the RIR-derived
 * country DBs). The assignment is the one GeoNames publishes and MaxMind's
 * GeoIP2/GeoLite2 continent fields follow (Turkey and the Caucasus: Asia;
 * Cyprus and Russia: Europe; Timor-Leste and Christmas Island: Oceania; the
 * Antarctic territories AQ BV GS HM TF: Antarctica).
 * Called by geo_build.c on the slow path; pure and allocation-free.
 */
#include "geo/geo.h"

#include <stdlib.h>
#include <string.h>

/* Sorted by code for bsearch; every ISO 3166-1 alpha-2 code (249) plus the
 * codes RIR data and MaxMind records use beside them: AN AP EU XK. */
static const char cc_cont[][5] = {
    "ADEU", "AEAS", "AFAS", "AGNA", "AINA", "ALEU", "AMAS", "ANNA", "AOAF", "APAS", "AQAN",
    "ARSA", "ASOC", "ATEU", "AUOC", "AWNA", "AXEU", "AZAS", "BAEU", "BBNA", "BDAS", "BEEU",
    "BFAF", "BGEU", "BHAS", "BIAF", "BJAF", "BLNA", "BMNA", "BNAS", "BOSA", "BQNA", "BRSA",
    "BSNA", "BTAS", "BVAN", "BWAF", "BYEU", "BZNA", "CANA", "CCAS", "CDAF", "CFAF", "CGAF",
    "CHEU", "CIAF", "CKOC", "CLSA", "CMAF", "CNAS", "COSA", "CRNA", "CUNA", "CVAF", "CWNA",
    "CXOC", "CYEU", "CZEU", "DEEU", "DJAF", "DKEU", "DMNA", "DONA", "DZAF", "ECSA", "EEEU",
    "EGAF", "EHAF", "ERAF", "ESEU", "ETAF", "EUEU", "FIEU", "FJOC", "FKSA", "FMOC", "FOEU",
    "FREU", "GAAF", "GBEU", "GDNA", "GEAS", "GFSA", "GGEU", "GHAF", "GIEU", "GLNA", "GMAF",
    "GNAF", "GPNA", "GQAF", "GREU", "GSAN", "GTNA", "GUOC", "GWAF", "GYSA", "HKAS", "HMAN",
    "HNNA", "HREU", "HTNA", "HUEU", "IDAS", "IEEU", "ILAS", "IMEU", "INAS", "IOAS", "IQAS",
    "IRAS", "ISEU", "ITEU", "JEEU", "JMNA", "JOAS", "JPAS", "KEAF", "KGAS", "KHAS", "KIOC",
    "KMAF", "KNNA", "KPAS", "KRAS", "KWAS", "KYNA", "KZAS", "LAAS", "LBAS", "LCNA", "LIEU",
    "LKAS", "LRAF", "LSAF", "LTEU", "LUEU", "LVEU", "LYAF", "MAAF", "MCEU", "MDEU", "MEEU",
    "MFNA", "MGAF", "MHOC", "MKEU", "MLAF", "MMAS", "MNAS", "MOAS", "MPOC", "MQNA", "MRAF",
    "MSNA", "MTEU", "MUAF", "MVAS", "MWAF", "MXNA", "MYAS", "MZAF", "NAAF", "NCOC", "NEAF",
    "NFOC", "NGAF", "NINA", "NLEU", "NOEU", "NPAS", "NROC", "NUOC", "NZOC", "OMAS", "PANA",
    "PESA", "PFOC", "PGOC", "PHAS", "PKAS", "PLEU", "PMNA", "PNOC", "PRNA", "PSAS", "PTEU",
    "PWOC", "PYSA", "QAAS", "REAF", "ROEU", "RSEU", "RUEU", "RWAF", "SAAS", "SBOC", "SCAF",
    "SDAF", "SEEU", "SGAS", "SHAF", "SIEU", "SJEU", "SKEU", "SLAF", "SMEU", "SNAF", "SOAF",
    "SRSA", "SSAF", "STAF", "SVNA", "SXNA", "SYAS", "SZAF", "TCNA", "TDAF", "TFAN", "TGAF",
    "THAS", "TJAS", "TKOC", "TLOC", "TMAS", "TNAF", "TOOC", "TRAS", "TTNA", "TVOC", "TWAS",
    "TZAF", "UAEU", "UGAF", "UMOC", "USNA", "UYSA", "UZAS", "VAEU", "VCNA", "VESA", "VGNA",
    "VINA", "VNAS", "VUOC", "WFOC", "WSOC", "XKEU", "YEAS", "YTAF", "ZAAF", "ZMAF", "ZWAF",
};

static const char *const continents[] = {"AF", "AN", "AS", "EU", "NA", "OC", "SA"};

static int cmp_cc(const void *key, const void *elem)
{
    return memcmp(key, elem, 2);
}

const char *geo_country_continent(const char *cc)
{
    if (!cc || !cc[0] || !cc[1] || cc[2]) {
        return NULL;
    }
    char k[2];
    for (int i = 0; i < 2; i++) {
        char c = cc[i];
        if (c >= 'a' && c <= 'z') {
            c = (char)(c - 32);
        }
        if (c < 'A' || c > 'Z') {
            return NULL;
        }
        k[i] = c;
    }
    const char *e = bsearch(k, cc_cont, sizeof(cc_cont) / sizeof(cc_cont[0]), sizeof(cc_cont[0]),
                            cmp_cc);
    if (!e) {
        return NULL;
    }
    for (size_t i = 0; i < sizeof(continents) / sizeof(continents[0]); i++) {
        if (memcmp(continents[i], e + 2, 2) == 0) {
            return continents[i];
        }
    }
    return NULL; /* not reached: every entry names one of the seven */
}
