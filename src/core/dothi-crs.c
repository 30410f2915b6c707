/* dothi-crs.c: VN-2000 zones by province, CRS parsing and identification. */
#define G_LOG_DOMAIN "dothi-crs"

#include "config.h"
#include "dothi-crs.h"
#include "dothi-error.h"
#include "dothi-layer-info.h"

#include <glib/gi18n-lib.h>
#include <cpl_error.h>
#include <cpl_conv.h>
#include <stdlib.h>
#include <string.h>

/* Central meridians from Circular 973/2001/TCĐC-QĐ, keyed to the EPSG
 * VN-2000 TM-3 codes (k = 0.9999, false easting 500 km). A test checks each
 * code's meridian against PROJ's database. */
static const DothiVn2000Zone zones[] = {
  { "An Giang", 9208, 104.75 },
  { "Bà Rịa – Vũng Tàu", 5899, 107.75 },
  { "Bắc Giang", 9214, 107.0 },
  { "Bắc Kạn", 9213, 106.5 },
  { "Bạc Liêu", 5897, 105.0 },
  { "Bắc Ninh", 9209, 105.5 },
  { "Bến Tre", 9210, 105.75 },
  { "Bình Định", 9217, 108.25 },
  { "Bình Dương", 9210, 105.75 },
  { "Bình Phước", 9212, 106.25 },
  { "Bình Thuận", 9218, 108.5 },
  { "Cà Mau", 9207, 104.5 },
  { "Cần Thơ", 5897, 105.0 },
  { "Cao Bằng", 9210, 105.75 },
  { "Đà Nẵng", 5899, 107.75 },
  { "Đắk Lắk", 9218, 108.5 },
  { "Đắk Nông", 9218, 108.5 },
  { "Điện Biên", 9205, 103.0 },
  { "Đồng Nai", 5899, 107.75 },
  { "Đồng Tháp", 5897, 105.0 },
  { "Gia Lai", 9218, 108.5 },
  { "Hà Giang", 9209, 105.5 },
  { "Hà Nam", 5897, 105.0 },
  { "Hà Nội", 5897, 105.0 },
  { "Hà Tĩnh", 9209, 105.5 },
  { "Hải Dương", 9209, 105.5 },
  { "Hải Phòng", 9210, 105.75 },
  { "Hậu Giang", 5897, 105.0 },
  { "Hồ Chí Minh", 9210, 105.75 },
  { "Hòa Bình", 9211, 106.0 },
  { "Hưng Yên", 9209, 105.5 },
  { "Khánh Hòa", 9217, 108.25 },
  { "Kiên Giang", 9207, 104.5 },
  { "Kon Tum", 9216, 107.5 },
  { "Lai Châu", 9205, 103.0 },
  { "Lâm Đồng", 5899, 107.75 },
  { "Lạng Sơn", 9215, 107.25 },
  { "Lào Cai", 9208, 104.75 },
  { "Long An", 9210, 105.75 },
  { "Nam Định", 9209, 105.5 },
  { "Nghệ An", 9208, 104.75 },
  { "Ninh Bình", 5897, 105.0 },
  { "Ninh Thuận", 9217, 108.25 },
  { "Phú Thọ", 9208, 104.75 },
  { "Phú Yên", 9218, 108.5 },
  { "Quảng Bình", 9211, 106.0 },
  { "Quảng Nam", 5899, 107.75 },
  { "Quảng Ngãi", 5898, 108.0 },
  { "Quảng Ninh", 5899, 107.75 },
  { "Quảng Trị", 9212, 106.25 },
  { "Sóc Trăng", 9209, 105.5 },
  { "Sơn La", 9206, 104.0 },
  { "Tây Ninh", 9209, 105.5 },
  { "Thái Bình", 9209, 105.5 },
  { "Thái Nguyên", 9213, 106.5 },
  { "Thanh Hóa", 5897, 105.0 },
  { "Thừa Thiên Huế", 9214, 107.0 },
  { "Tiền Giang", 9210, 105.75 },
  { "Trà Vinh", 9209, 105.5 },
  { "Tuyên Quang", 9211, 106.0 },
  { "Vĩnh Long", 9209, 105.5 },
  { "Vĩnh Phúc", 5897, 105.0 },
  { "Yên Bái", 9208, 104.75 },
};

const DothiVn2000Zone *
dothi_crs_vn2000_zones (guint *n_zones)
{
  if (n_zones != NULL)
    *n_zones = G_N_ELEMENTS (zones);
  return zones;
}

gboolean
dothi_crs_is_vn2000 (int srid)
{
  return srid == 4756 || srid == 3405 || srid == 3406
         || (srid >= 5896 && srid <= 5899)
         || (srid >= 6956 && srid <= 6959)
         || (srid >= 9205 && srid <= 9218);
}

OGRSpatialReferenceH
dothi_crs_new_srs (int srid, GError **error)
{
  OGRSpatialReferenceH srs = OSRNewSpatialReference (NULL);

  CPLPushErrorHandler (CPLQuietErrorHandler);
  if (srid <= 0 || OSRImportFromEPSG (srs, srid) != OGRERR_NONE)
    {
      CPLPopErrorHandler ();
      OSRRelease (srs);
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_CRS,
                   /* Translators: an EPSG code number */
                   _("EPSG:%d is not a coordinate reference system PROJ knows"), srid);
      return NULL;
    }
  CPLPopErrorHandler ();
  OSRSetAxisMappingStrategy (srs, OAMS_TRADITIONAL_GIS_ORDER);
  return srs;
}

int
dothi_crs_parse (const char *text, GError **error)
{
  g_autofree char *trimmed = NULL;
  const char *digits;
  char *end = NULL;
  long code;

  if (text == NULL || *text == '\0')
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_CRS, _("No coordinate reference system given"));
      return 0;
    }
  trimmed = g_strstrip (g_strdup (text));
  digits = trimmed;
  if (g_ascii_strncasecmp (digits, "EPSG:", 5) == 0)
    digits += 5;
  code = strtol (digits, &end, 10);
  if (end != digits && *end == '\0')
    {
      OGRSpatialReferenceH srs = dothi_crs_new_srs ((int) code, error);
      if (srs == NULL)
        return 0;
      OSRRelease (srs);
      return (int) code;
    }

  /* A province name, compared without tone marks or case. */
  {
    g_autofree char *want = dothi_slugify (trimmed);
    for (guint i = 0; i < G_N_ELEMENTS (zones); i++)
      {
        g_autofree char *have = dothi_slugify (zones[i].province);
        if (g_strcmp0 (want, have) == 0)
          return zones[i].srid;
      }
  }
  g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_CRS,
               /* Translators: what the user typed as a CRS */
               _("“%s” is neither an EPSG code nor a province name (try “EPSG:9218” or “Đắk Lắk”)"),
               trimmed);
  return 0;
}

int
dothi_crs_identify (OGRSpatialReferenceH srs)
{
  const char *auth, *code;
  OGRSpatialReferenceH *matches;
  int n_matches = 0;
  int *confidences = NULL;
  int srid = 0;

  if (srs == NULL)
    return 0;

  auth = OSRGetAuthorityName (srs, NULL);
  code = OSRGetAuthorityCode (srs, NULL);
  if (auth != NULL && code != NULL && g_ascii_strcasecmp (auth, "EPSG") == 0)
    return atoi (code);

  /* ESRI .prj files and GML srsName variants carry no authority: match the
   * definition against PROJ's database and accept only a confident one. */
  CPLPushErrorHandler (CPLQuietErrorHandler);
  matches = OSRFindMatches (srs, NULL, &n_matches, &confidences);
  CPLPopErrorHandler ();
  if (matches != NULL && n_matches > 0 && confidences[0] >= 70)
    {
      auth = OSRGetAuthorityName (matches[0], NULL);
      code = OSRGetAuthorityCode (matches[0], NULL);
      if (auth != NULL && code != NULL && g_ascii_strcasecmp (auth, "EPSG") == 0)
        srid = atoi (code);
    }
  OSRFreeSRSArray (matches);
  CPLFree (confidences);
  return srid;
}

char *
dothi_crs_dup_name (int srid)
{
  OGRSpatialReferenceH srs = dothi_crs_new_srs (srid, NULL);
  char *name;

  if (srs == NULL)
    return NULL;
  name = g_strdup (OSRGetName (srs));
  OSRRelease (srs);
  return name;
}
