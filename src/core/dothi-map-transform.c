/* dothi-map-transform.c: PROJ transformations between a layer CRS, Web
 * Mercator and WGS 84, owned by one thread. */

#define G_LOG_DOMAIN "dothi-map-transform"

#include "config.h"
#include "dothi-map-transform.h"
#include "dothi-autocleanups.h"
#include "dothi-error.h"

#include <glib/gi18n-lib.h>
#include <math.h>
#include <proj.h>

struct _DothiMapTransform
{
  int         srid;
  PJ_CONTEXT *ctx;
  PJ         *to_merc;   /* layer CRS → EPSG:3857, x/y order */
  PJ         *to_wgs84;  /* layer CRS → EPSG:4326, lon/lat order */
};

static PJ *
create_op (PJ_CONTEXT *ctx, int srid, const char *target)
{
  g_autofree char *from = g_strdup_printf ("EPSG:%d", srid);
  g_autoptr(PJ) pj = proj_create_crs_to_crs (ctx, from, target, NULL);

  if (pj == NULL)
    return NULL;
  return proj_normalize_for_visualization (ctx, pj);
}

DothiMapTransform *
dothi_map_transform_new (int srid, GError **error)
{
  g_autoptr(DothiMapTransform) self = g_new0 (DothiMapTransform, 1);

  self->srid = srid;
  self->ctx = proj_context_create ();
  proj_log_level (self->ctx, PJ_LOG_NONE);
  self->to_merc = srid == 3857 ? NULL : create_op (self->ctx, srid, "EPSG:3857");
  self->to_wgs84 = srid == 4326 ? NULL : create_op (self->ctx, srid, "EPSG:4326");
  if ((srid != 3857 && self->to_merc == NULL) || (srid != 4326 && self->to_wgs84 == NULL))
    {
      g_set_error (error, DOTHI_ERROR, DOTHI_ERROR_CRS,
                   /* Translators: an EPSG code */
                   _("PROJ cannot draw EPSG:%d on the map"), srid);
      return NULL;
    }
  return g_steal_pointer (&self);
}

void
dothi_map_transform_free (DothiMapTransform *self)
{
  if (self == NULL)
    return;
  g_clear_pointer (&self->to_merc, proj_destroy);
  g_clear_pointer (&self->to_wgs84, proj_destroy);
  g_clear_pointer (&self->ctx, proj_context_destroy);
  g_free (self);
}

int
dothi_map_transform_get_srid (DothiMapTransform *self)
{
  return self->srid;
}

static gboolean
trans (PJ *pj, PJ_DIRECTION dir, double x, double y, double *ox, double *oy)
{
  PJ_COORD c;

  if (pj == NULL)
    {
      *ox = x;
      *oy = y;
      return TRUE;
    }
  c = proj_trans (pj, dir, proj_coord (x, y, 0, 0));
  if (!isfinite (c.xy.x) || !isfinite (c.xy.y) || c.xy.x == HUGE_VAL)
    return FALSE;
  *ox = c.xy.x;
  *oy = c.xy.y;
  return TRUE;
}

/* Web Mercator from/to WGS 84 where the layer itself is one of them. */
static void
merc_from_lonlat (double lon, double lat, double *mx, double *my)
{
  *mx = lon * DOTHI_MERCATOR_HALF_WORLD / 180.0;
  *my = log (tan ((90.0 + CLAMP (lat, -85.0511, 85.0511)) * G_PI / 360.0))
        * DOTHI_MERCATOR_HALF_WORLD / G_PI;
}

static void
lonlat_from_merc (double mx, double my, double *lon, double *lat)
{
  *lon = mx / DOTHI_MERCATOR_HALF_WORLD * 180.0;
  *lat = atan (exp (my / DOTHI_MERCATOR_HALF_WORLD * G_PI)) * 360.0 / G_PI - 90.0;
}

gboolean
dothi_map_transform_to_mercator (DothiMapTransform *self, double x, double y,
                                 double *mx, double *my)
{
  if (self->srid == 4326)
    {
      merc_from_lonlat (x, y, mx, my);
      return TRUE;
    }
  return trans (self->to_merc, PJ_FWD, x, y, mx, my);
}

gboolean
dothi_map_transform_from_mercator (DothiMapTransform *self, double mx, double my,
                                   double *x, double *y)
{
  if (self->srid == 4326)
    {
      lonlat_from_merc (mx, my, x, y);
      return TRUE;
    }
  return trans (self->to_merc, PJ_INV, mx, my, x, y);
}

gboolean
dothi_map_transform_to_wgs84 (DothiMapTransform *self, double x, double y,
                              double *lat, double *lon)
{
  if (self->srid == 3857)
    {
      lonlat_from_merc (x, y, lon, lat);
      return TRUE;
    }
  return trans (self->to_wgs84, PJ_FWD, x, y, lon, lat);
}

gboolean
dothi_map_transform_from_wgs84 (DothiMapTransform *self, double lat, double lon,
                                double *x, double *y)
{
  if (self->srid == 3857)
    {
      merc_from_lonlat (lon, lat, x, y);
      return TRUE;
    }
  return trans (self->to_wgs84, PJ_INV, lon, lat, x, y);
}

/* 9 points per edge: TM-3 to Web Mercator bends an edge by far less than
 * a metre over a city, so the sampled bbox is tight and safe. */
static gboolean
transform_bbox (DothiMapTransform *self, gboolean forward, const double bbox[4], double out[4])
{
  const int n = 8;
  gboolean any = FALSE;

  out[0] = out[1] = G_MAXDOUBLE;
  out[2] = out[3] = -G_MAXDOUBLE;
  for (int side = 0; side < 4; side++)
    for (int i = 0; i <= n; i++)
      {
        double t = (double) i / n, x, y, ox, oy;
        gboolean ok;

        switch (side)
          {
          case 0: x = bbox[0] + t * (bbox[2] - bbox[0]); y = bbox[1]; break;
          case 1: x = bbox[0] + t * (bbox[2] - bbox[0]); y = bbox[3]; break;
          case 2: x = bbox[0]; y = bbox[1] + t * (bbox[3] - bbox[1]); break;
          default: x = bbox[2]; y = bbox[1] + t * (bbox[3] - bbox[1]); break;
          }
        ok = forward ? dothi_map_transform_to_mercator (self, x, y, &ox, &oy)
                     : dothi_map_transform_from_mercator (self, x, y, &ox, &oy);
        if (!ok)
          continue;
        any = TRUE;
        out[0] = MIN (out[0], ox);
        out[1] = MIN (out[1], oy);
        out[2] = MAX (out[2], ox);
        out[3] = MAX (out[3], oy);
      }
  return any;
}

gboolean
dothi_map_transform_bbox_to_mercator (DothiMapTransform *self, const double bbox[4], double out[4])
{
  return transform_bbox (self, TRUE, bbox, out);
}

gboolean
dothi_map_transform_bbox_from_mercator (DothiMapTransform *self, const double bbox[4], double out[4])
{
  return transform_bbox (self, FALSE, bbox, out);
}

double
dothi_mercator_resolution (double zoom)
{
  return 2.0 * DOTHI_MERCATOR_HALF_WORLD / (256.0 * exp2 (zoom));
}

void
dothi_mercator_tile_bbox (int zoom, gint64 x, gint64 y, double bbox[4])
{
  double size = 2.0 * DOTHI_MERCATOR_HALF_WORLD / exp2 (zoom);

  bbox[0] = -DOTHI_MERCATOR_HALF_WORLD + x * size;
  bbox[2] = bbox[0] + size;
  bbox[3] = DOTHI_MERCATOR_HALF_WORLD - y * size;
  bbox[1] = bbox[3] - size;
}
