"""The application's version: in /api/v1/system/info, the OpenAPI document and every backup's manifest."""

VERSION = "1.0.0"
