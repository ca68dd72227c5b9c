from django.conf import settings
from django.contrib import admin
from django.contrib.auth.views import LogoutView
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from gallery import apis as gallery_apis
from gallery import share_views
from gallery import views as gallery_views
from generation import apis as generation_apis
from generation import batch_apis, queue_apis, trash_apis, webhook_apis
from history import apis as history_apis
from imagegen import views
from imagegen.api import system
from imagegen.people import apis as account_apis
from imagegen.people import views as account_views
from streaming import views as streaming_views

# The API, by what it acts on.
task_api = [
    path("generate", generation_apis.GenerateApi.as_view(), name="generate"),
    path("task/<str:task_id>", generation_apis.task_detail, name="task"),
    path("task/<str:task_id>/events", streaming_views.task_events, name="task-events"),
    path("task/<str:task_id>/front", queue_apis.TaskFrontApi.as_view(), name="task-front"),
    path("task/<str:task_id>/retry", queue_apis.TaskRetryApi.as_view(), name="task-retry"),
    path("tasks", generation_apis.TaskListApi.as_view(), name="tasks"),
    path("queue", queue_apis.QueueApi.as_view(), name="queue"),
    path("batches", batch_apis.BatchApi.as_view(), name="batches"),
    path("batches/<str:batch_id>", batch_apis.BatchDetailApi.as_view(), name="batch"),
    path("models", generation_apis.ModelListApi.as_view(), name="models"),
]
reference_api = [
    path("references", generation_apis.ReferenceUploadApi.as_view(), name="references"),
    path("references/<str:reference_id>", generation_apis.ReferenceFileApi.as_view(), name="reference"),
]
history_api = [
    path("history", history_apis.HistoryListApi.as_view(), name="history"),
    path("history/<str:item_id>", history_apis.HistoryDeleteApi.as_view(), name="history-item"),
    path("trash", trash_apis.TrashApi.as_view(), name="trash"),
    path("trash/<str:item_id>", trash_apis.TrashItemApi.as_view(), name="trash-item"),
    path("trash/<str:item_id>/restore", trash_apis.TrashRestoreApi.as_view(), name="trash-restore"),
    path("trash/<str:image_id>/thumbnail", gallery_views.trash_thumbnail, name="trash-thumbnail"),
]
# "images/bulk" and "images/zip" before "images/<str:image_id>", which would take them.
image_api = [
    path("images", gallery_apis.ImageListApi.as_view(), name="images"),
    path("images/bulk", gallery_apis.BulkApi.as_view(), name="images-bulk"),
    path("images/zip", gallery_apis.ZipApi.as_view(), name="images-zip"),
    path("images/<str:image_id>", gallery_views.image_file, name="image"),
    path("images/<str:image_id>/thumbnail", gallery_views.image_thumbnail, name="image-thumbnail"),
    path("images/<str:image_id>/star", gallery_apis.ImageStarApi.as_view(), name="image-star"),
    path("images/<str:image_id>/tags", gallery_apis.ImageTagsApi.as_view(), name="image-tags"),
    path("images/<str:image_id>/tags/<str:tag>", gallery_apis.ImageTagDeleteApi.as_view(), name="image-tag"),
    path("tags", gallery_apis.TagListApi.as_view(), name="tags"),
]
board_api = [
    path("boards", gallery_apis.BoardListApi.as_view(), name="boards"),
    path("boards/<str:board_id>", gallery_apis.BoardDetailApi.as_view(), name="board"),
    path("boards/<str:board_id>/images", gallery_apis.BoardImagesApi.as_view(), name="board-images"),
    path("boards/<str:board_id>/images/<str:image_id>", gallery_apis.BoardImageDeleteApi.as_view(), name="board-image"),
    path("shares", gallery_apis.ShareListApi.as_view(), name="shares"),
    path("shares/<str:share_id>", gallery_apis.ShareDetailApi.as_view(), name="share"),
]
account_api = [
    path("account", account_apis.AccountApi.as_view(), name="account"),
    path("spending-caps", account_apis.SpendingCapListApi.as_view(), name="spending-caps"),
    path("account/export", account_apis.AccountExportApi.as_view(), name="account-export"),
    path("account/erase", account_apis.AccountEraseApi.as_view(), name="account-erase"),
    path("account/tokens", account_apis.TokenListApi.as_view(), name="tokens"),
    path("account/tokens/<str:token_id>", account_apis.TokenRevokeApi.as_view(), name="token"),
    path("webhooks/secret", webhook_apis.WebhookSecretApi.as_view(), name="webhook-secret"),
    path("webhooks/deliveries", webhook_apis.WebhookDeliveryListApi.as_view(), name="webhook-deliveries"),
    path("webhooks/deliveries/<str:delivery_id>/resend", webhook_apis.WebhookResendApi.as_view(),
         name="webhook-resend"),
]
system_api = [
    path("system/info", system.SystemInfoApi.as_view(), name="system-info"),
    path("health", system.HealthApi.as_view(), name="health"),
    path("schema", SpectacularAPIView.as_view(), name="schema"),
    path("docs", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
]
api_patterns = [*task_api, *reference_api, *history_api, *image_api, *board_api, *account_api, *system_api]

urlpatterns = [
    path("api/v1/", include((api_patterns, "api"))),
    path("admin/", admin.site.urls),
    path("metrics", views.metrics_view, name="metrics"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("gallery", views.gallery, name="gallery"),
    path("history", views.history, name="history"),
    path("queue", views.queue, name="queue"),
    path("shares", views.shares, name="shares"),
    path("trash", views.trash, name="trash"),
    path("s/<str:token>", share_views.share_page, name="share-page"),
    path("s/<str:token>/<str:image_id>", share_views.share_file, name="share-file"),
    path("s/<str:token>/<str:image_id>/thumbnail", share_views.share_file, {"thumbnail": True}, name="share-thumbnail"),
    path("login", account_views.LoginView.as_view(), name="login"),
    path("login/two-factor", account_views.login_two_factor, name="login-two-factor"),
    path("password-reset", account_views.PasswordResetView.as_view(), name="password-reset"),
    path("password-reset/sent", account_views.PasswordResetDoneView.as_view(), name="password-reset-done"),
    path("password-reset/<uidb64>/<token>", account_views.PasswordResetConfirmView.as_view(),
         name="password-reset-confirm"),
    path("password-reset/done", account_views.PasswordResetCompleteView.as_view(), name="password-reset-complete"),
    # Django's LogoutView takes POST only: a link or an image cannot sign anyone out.
    path("logout", LogoutView.as_view(), name="logout"),
    path("account", account_views.account, name="account"),
    path("account/tokens", account_views.token_create, name="token-create"),
    path("account/password", account_views.PasswordChangeView.as_view(), name="password-change"),
    path("account/two-factor", account_views.two_factor, name="two-factor"),
    path("account/two-factor/recovery-codes", account_views.recovery_codes_renew, name="recovery-codes"),
    path("account/two-factor/off", account_views.two_factor_disable, name="two-factor-off"),
    path("account/export", account_views.account_export, name="account-export"),
    path("account/delete", account_views.account_delete, name="account-delete"),
    path("account/sign-out-everywhere", account_views.sign_out_everywhere, name="sign-out-everywhere"),
    path("account/tokens/<int:token_id>/revoke", account_views.token_revoke, name="token-revoke"),
    path("account/webhook-secret", account_views.webhook_secret_rotate, name="webhook-secret-rotate"),
    path("account/webhooks/<str:delivery_id>/resend", account_views.webhook_resend, name="webhook-resend"),
    path("favicon.ico", views.favicon),
    path("", views.home, name="home"),
]

handler404 = "imagegen.views.not_found"
handler500 = "imagegen.views.server_error"

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
