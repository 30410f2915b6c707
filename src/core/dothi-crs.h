/* dothi-crs.h: coordinate reference systems: the VN-2000 TM-3 zones by
 * province, parsing what users type, and identifying a source's CRS. */
#pragma once

#include <glib.h>
#include <ogr_srs_api.h>

G_BEGIN_DECLS

typedef struct {
  const char *province;   /* name the data was made under (before the 2025 mergers) */
  int         srid;       /* EPSG code of the province's VN-2000 TM-3 zone */
  double      meridian;   /* central meridian, degrees */
} DothiVn2000Zone;

/* The 63 provinces and their zones, in alphabetical order of the ASCII
 * folding of the name. */
const DothiVn2000Zone *dothi_crs_vn2000_zones (guint *n_zones);

/* Parses "EPSG:9218", "9218", "epsg:4326" or a province name ("Đắk Lắk",
 * "dak lak", "Lâm Đồng") into an EPSG code known to PROJ. */
int      dothi_crs_parse      (const char *text, GError **error);

/* TRUE for every VN-2000 CRS (geographic, UTM and TM-3 zones). */
gboolean dothi_crs_is_vn2000  (int srid);

/* The EPSG code of @srs, identified by authority code or by matching its
 * definition (an ESRI .prj); 0 when it matches no EPSG CRS. */
int      dothi_crs_identify   (OGRSpatialReferenceH srs);

/* "VN-2000 / TM-3 108-30", from PROJ's database; NULL if unknown. */
char    *dothi_crs_dup_name   (int srid);

/* A new spatial reference for EPSG @srid with the traditional GIS axis
 * order (easting, northing / longitude, latitude). */
OGRSpatialReferenceH dothi_crs_new_srs (int srid, GError **error);

G_END_DECLS
