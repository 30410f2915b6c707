/* dothi-autocleanups.h: g_autoptr cleanups for the C libraries the core uses,
 * declared once here. */
#pragma once

#include <glib.h>
#include <sqlite3.h>
#include <gdal.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>
#include <proj.h>

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3_stmt, sqlite3_finalize)
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (GDALDatasetH, GDALClose, NULL)
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (OGRFeatureH, OGR_F_Destroy, NULL)
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (OGRGeometryH, OGR_G_DestroyGeometry, NULL)
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (OGRSpatialReferenceH, OSRRelease, NULL)
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (OGRCoordinateTransformationH, OCTDestroyCoordinateTransformation, NULL)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PJ, proj_destroy)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PJ_CONTEXT, proj_context_destroy)

static inline void
dothi_sqlite_free (void *p)
{
  sqlite3_free (p);
}
typedef char DothiSqlStr;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DothiSqlStr, dothi_sqlite_free)
