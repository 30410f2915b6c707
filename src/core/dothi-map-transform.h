/* dothi-map-transform.h: from a layer CRS to Web Mercator and WGS 84 and
 * back, for one thread (it owns its PJ_CONTEXT). The map shows Web
 * Mercator; measures stay in the project CRS (DESIGN.md §5). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Half the width of the Web Mercator world, in metres. */
#define DOTHI_MERCATOR_HALF_WORLD 20037508.342789244

typedef struct _DothiMapTransform DothiMapTransform;

/* DOTHI_ERROR_CRS when PROJ knows no way from @srid to Web Mercator. */
DothiMapTransform *dothi_map_transform_new  (int srid, GError **error);
void               dothi_map_transform_free (DothiMapTransform *self);
int                dothi_map_transform_get_srid (DothiMapTransform *self);

/* Each returns FALSE where the point has no image (outside the CRS area). */
gboolean dothi_map_transform_to_mercator   (DothiMapTransform *self,
                                            double x, double y,
                                            double *mx, double *my);
gboolean dothi_map_transform_from_mercator (DothiMapTransform *self,
                                            double mx, double my,
                                            double *x, double *y);
gboolean dothi_map_transform_to_wgs84      (DothiMapTransform *self,
                                            double x, double y,
                                            double *lat, double *lon);
gboolean dothi_map_transform_from_wgs84    (DothiMapTransform *self,
                                            double lat, double lon,
                                            double *x, double *y);
/* The bbox (minx miny maxx maxy) of @bbox's image, sampled along its edges. */
gboolean dothi_map_transform_bbox_to_mercator   (DothiMapTransform *self,
                                                 const double bbox[4],
                                                 double out[4]);
gboolean dothi_map_transform_bbox_from_mercator (DothiMapTransform *self,
                                                 const double bbox[4],
                                                 double out[4]);

/* Web Mercator helpers (pure). Resolution in metres per pixel of a
 * 256-pixel tile grid at @zoom; tile bbox in Web Mercator metres. */
double dothi_mercator_resolution (double zoom);
void   dothi_mercator_tile_bbox  (int zoom, gint64 x, gint64 y, double bbox[4]);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (DothiMapTransform, dothi_map_transform_free)

G_END_DECLS
