/* dothi-export-private.h: the OGR vocabulary export and query results
 * share when they write layers with GDAL. */
#pragma once

#include <ogr_api.h>
#include "dothi-layer-info.h"

G_BEGIN_DECLS

/* OGR geometry type of @info's features (Z and M kept). */
OGRwkbGeometryType dothi_export_ogr_type       (const DothiLayerInfo *info);
/* OGR field type (and subtype) for a Dothi field type. */
OGRFieldType       dothi_export_ogr_field_type (DothiFieldType   type,
                                                OGRFieldSubType *sub);

G_END_DECLS
