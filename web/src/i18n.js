// Vietnamese first, English second; the choice is remembered in localStorage.
const KEY = "civic.lang";

export function lang() {
  const saved = localStorage.getItem(KEY);
  return saved === "en" ? "en" : "vi";
}

export function setLang(value) {
  localStorage.setItem(KEY, value === "en" ? "en" : "vi");
  document.documentElement.lang = lang();
}

/** Picks the text of the current language from {vi, en} (an API name) or [vi, en]. */
export function pick(value) {
  if (value == null) return "";
  if (Array.isArray(value)) return lang() === "en" ? value[1] : value[0];
  if (typeof value === "object") return value[lang()] ?? value.vi ?? value.en ?? "";
  return String(value);
}

const T = {
  app_name: ["CivicBridge — Phản ánh hiện trường", "CivicBridge — On-site feedback"],
  skip: ["Bỏ qua đến nội dung", "Skip to content"],
  nav_submit: ["Gửi phản ánh", "Report a problem"],
  nav_track: ["Tra cứu", "Track"],
  nav_map: ["Bản đồ phản ánh", "Reports map"],
  nav_stats: ["Thống kê", "Statistics"],
  nav_mine: ["Phản ánh của tôi", "My reports"],
  nav_contacts: ["Liên hệ nhận thông báo", "Notification contacts"],
  contacts_lead: ["Thông báo chỉ được gửi tới email, số điện thoại và Zalo bạn đã xác nhận.", "Notifications go only to the email, phone and Zalo you have confirmed."],
  contact_email: ["Email", "Email"],
  contact_phone: ["Số điện thoại (+84…)", "Phone (+84…)"],
  contact_zalo: ["Mã người dùng Zalo", "Zalo user id"],
  contact_verified: ["đã xác nhận", "confirmed"],
  contact_pending: ["chờ xác nhận", "waiting for confirmation"],
  contact_unverified: ["chưa xác nhận (lưu lại để nhận mã mới)", "not confirmed (save it again for a new code)"],
  contact_save: ["Lưu", "Save"],
  contact_code: ["Mã xác nhận (6 chữ số)", "Confirmation code (6 digits)"],
  contact_confirm: ["Xác nhận", "Confirm"],
  verify_title: ["Xác nhận liên hệ", "Confirm your contact"],
  verify_done: ["Đã xác nhận. Bạn sẽ nhận thông báo qua liên hệ này.", "Confirmed. You will receive notifications at this contact."],
  nav_inbox: ["Hộp việc", "Inbox"],
  nav_dashboard: ["Bảng điều khiển", "Dashboard"],
  sign_in: ["Đăng nhập", "Sign in"],
  sign_up: ["Đăng ký", "Sign up"],
  sign_out: ["Đăng xuất", "Sign out"],
  switch_lang: ["English", "Tiếng Việt"],
  switch_lang_label: ["Switch to English", "Chuyển sang tiếng Việt"],
  loading: ["Đang tải…", "Loading…"],
  error: ["Có lỗi", "Error"],
  retry: ["Thử lại", "Retry"],
  not_available: ["Chưa có dữ liệu", "Not available yet"],
  own_unit_only: ["Xếp hạng và bản đồ chỉ dành cho cán bộ của đơn vị này hoặc cấp trên: hãy nhập mã đơn vị của bạn.", "The ranking and the map are for this unit's staff and the units above it: enter your own unit's code."],
  no_child_units: ["Đơn vị này không có đơn vị trực thuộc.", "This unit has no units under it."],
  none: ["Không có", "None"],
  all: ["Tất cả", "All"],
  apply: ["Áp dụng", "Apply"],
  cancel: ["Huỷ", "Cancel"],
  send: ["Gửi", "Send"],
  open: ["Mở", "Open"],
  home_title: ["Phản ánh hiện trường", "On-site feedback"],
  home_lead: [
    "Thấy vấn đề trên đường phố? Chụp ảnh, đánh dấu vị trí và gửi — đơn vị có trách nhiệm sẽ tiếp nhận, xử lý đúng hạn và công khai kết quả.",
    "Seen a problem in the street? Take a photo, mark the place and send it: the responsible unit receives it, handles it on time and publishes the result.",
  ],
  // sign in / sign up
  email: ["Email", "Email"],
  password: ["Mật khẩu", "Password"],
  password_hint: ["Ít nhất 8 ký tự, có chữ hoa, chữ thường, số và ký tự đặc biệt", "At least 8 characters with upper and lower case, a digit and a symbol"],
  no_account: ["Chưa có tài khoản?", "No account yet?"],
  have_account: ["Đã có tài khoản?", "Already have an account?"],
  confirm_code: ["Mã xác nhận (gửi qua email)", "Confirmation code (sent by email)"],
  confirm: ["Xác nhận", "Confirm"],
  signed_in_as: ["Đã đăng nhập:", "Signed in:"],
  signup_sent: ["Đã gửi mã xác nhận tới email của bạn.", "A confirmation code was sent to your email."],
  signin_needed: ["Vui lòng đăng nhập để tiếp tục.", "Please sign in to continue."],
  session_expired: ["Phiên đăng nhập đã hết hạn, vui lòng đăng nhập lại.", "Your session expired; please sign in again."],
  // submit
  submit_title: ["Gửi phản ánh", "Report a problem"],
  category: ["Lĩnh vực", "Category"],
  choose: ["— Chọn —", "— Choose —"],
  description: ["Mô tả", "Description"],
  description_hint: ["Điều gì đang xảy ra, ở đâu, từ khi nào", "What is wrong, where exactly, since when"],
  address: ["Địa chỉ (không bắt buộc)", "Address (optional)"],
  anonymous: ["Ẩn danh với đơn vị xử lý", "Stay anonymous to the unit"],
  location: ["Vị trí", "Location"],
  location_hint: ["Kéo ghim trên bản đồ, dùng vị trí của máy hoặc nhập toạ độ.", "Drag the pin on the map, use your device's position or type the coordinates."],
  use_my_location: ["Dùng vị trí của tôi", "Use my location"],
  locating: ["Đang xác định vị trí…", "Finding your position…"],
  geo_failed: ["Không lấy được vị trí của thiết bị", "Could not get the device's position"],
  latitude: ["Vĩ độ", "Latitude"],
  longitude: ["Kinh độ", "Longitude"],
  media: ["Ảnh / video (tối đa 5)", "Photos / videos (up to 5)"],
  media_hint: ["JPEG, PNG, WebP, HEIC tới 15 MB; MP4, MOV tới 100 MB", "JPEG, PNG, WebP, HEIC up to 15 MB; MP4, MOV up to 100 MB"],
  too_many_files: ["Chỉ được đính kèm tối đa 5 tệp", "At most 5 files"],
  nearby_title: ["Phản ánh tương tự gần đây", "Similar reports nearby"],
  nearby_lead: [
    "Những phản ánh cùng lĩnh vực đang được xử lý gần vị trí này. Nếu trùng, hãy theo dõi thay vì gửi mới.",
    "Open reports of the same category near this place. If one is yours too, follow it instead of sending a new one.",
  ],
  follow: ["Theo dõi", "Follow"],
  following: ["Đang theo dõi", "Following"],
  unfollow: ["Bỏ theo dõi", "Unfollow"],
  metres_away: ["cách {n} m", "{n} m away"],
  submit: ["Gửi phản ánh", "Send report"],
  sending: ["Đang gửi…", "Sending…"],
  uploading: ["Đang tải lên", "Uploading"],
  upload_failed: ["Tải lên thất bại", "Upload failed"],
  uploaded: ["Đã tải lên", "Uploaded"],
  submitted_title: ["Đã gửi phản ánh", "Report sent"],
  your_code: ["Mã theo dõi của bạn", "Your tracking code"],
  keep_code: ["Hãy lưu mã này để tra cứu tiến độ xử lý.", "Keep this code to follow the progress."],
  track_it: ["Xem tiến độ", "Track it"],
  // track
  track_title: ["Tra cứu phản ánh", "Track a report"],
  tracking_code: ["Mã theo dõi", "Tracking code"],
  track_btn: ["Tra cứu", "Track"],
  not_found: ["Không tìm thấy", "Not found"],
  status: ["Trạng thái", "Status"],
  unit: ["Đơn vị xử lý", "Handling unit"],
  created: ["Gửi lúc", "Sent"],
  accept_due: ["Hạn tiếp nhận", "Acceptance due"],
  resolve_due: ["Hạn giải quyết", "Resolution due"],
  met: ["đúng hạn", "met"],
  missed: ["trễ hạn", "missed"],
  pending: ["chưa đến lượt", "pending"],
  photos: ["Ảnh, video", "Photos, videos"],
  result: ["Kết quả xử lý", "Result"],
  evidence: ["Ảnh minh chứng", "Evidence"],
  timeline: ["Lịch sử xử lý", "Timeline"],
  rate_title: ["Đánh giá kết quả", "Rate the result"],
  satisfied_q: ["Bạn có hài lòng với kết quả?", "Are you satisfied with the result?"],
  yes_satisfied: ["Hài lòng", "Satisfied"],
  not_satisfied: ["Chưa hài lòng", "Not satisfied"],
  stars: ["Số sao", "Stars"],
  comment: ["Góp ý (chỉ đơn vị xem)", "Comment (only the unit sees it)"],
  rate_btn: ["Gửi đánh giá", "Send rating"],
  your_rating: ["Đánh giá", "Rating"],
  thanks_rating: ["Cảm ơn bạn đã đánh giá.", "Thank you for your rating."],
  question_from_unit: ["Đơn vị cần thêm thông tin", "The unit needs more information"],
  your_reply: ["Trả lời của bạn", "Your reply"],
  approximate: ["vị trí gần đúng (bảo vệ người phản ánh)", "approximate place (protects the reporter)"],
  followers: ["Người theo dõi", "Followers"],
  // public map & list
  map_title: ["Bản đồ phản ánh", "Reports map"],
  list: ["Danh sách", "List"],
  filter: ["Lọc", "Filter"],
  zoom_in: ["Vùng quá lớn, hãy phóng to bản đồ", "The area is too large; zoom in"],
  no_reports: ["Không có phản ánh nào", "No reports"],
  more: ["Xem thêm", "More"],
  // stats
  stats_title: ["Thống kê công khai", "Public statistics"],
  from: ["Từ ngày", "From"],
  to: ["Đến ngày", "To"],
  received: ["Tiếp nhận", "Received"],
  resolved: ["Đã giải quyết", "Resolved"],
  processed_rate: ["Tỉ lệ đã xử lý", "Processed"],
  on_time_rate: ["Tỉ lệ đúng hạn", "On time"],
  satisfied_rate: ["Tỉ lệ hài lòng", "Satisfied"],
  satisfaction_index: ["Chỉ số hài lòng", "Satisfaction index"],
  by_category: ["Theo lĩnh vực", "By category"],
  share: ["Tỉ lệ", "Share"],
  count: ["Số lượng", "Count"],
  // staff
  inbox_title: ["Hộp việc", "Inbox"],
  priority: ["Mức độ", "Priority"],
  due: ["Hạn", "Due"],
  search: ["Tìm (nội dung hoặc mã)", "Search (text or code)"],
  export_csv: ["Xuất CSV", "Export CSV"],
  exporting: ["Đang xuất…", "Exporting…"],
  total: ["Tổng", "Total"],
  assignee: ["Người xử lý", "Assignee"],
  flags: ["Cảnh báo", "Flags"],
  internal: ["nội bộ", "internal"],
  public: ["công khai", "public"],
  actions: ["Xử lý", "Actions"],
  no_actions: ["Không có thao tác nào ở trạng thái này", "No action is possible now"],
  reason: ["Lý do", "Reason"],
  details: ["Chi tiết (không bắt buộc)", "Details (optional)"],
  to_unit: ["Mã đơn vị nhận", "Receiving unit code"],
  to_superior: ["Chuyển lên cấp trên", "Send to the superior unit"],
  assign_to: ["Giao cho (mã cán bộ hoặc phòng ban)", "Assign to (officer id or department)"],
  note_text: ["Ghi chú nội bộ", "Internal note"],
  question: ["Câu hỏi cho người dân", "Question to the citizen"],
  answer: ["Nội dung trả lời (ít nhất 10 ký tự)", "Answer (at least 10 characters)"],
  template: ["Mẫu trả lời", "Answer template"],
  evidence_files: ["Ảnh minh chứng", "Evidence photos"],
  waiting_media: ["Đang xử lý ảnh minh chứng…", "Processing the evidence…"],
  media_refused: ["Ảnh bị từ chối", "File refused"],
  done: ["Đã lưu", "Saved"],
  conflict: ["Phản ánh vừa được người khác cập nhật. Đã tải lại.", "Someone else changed this report. Reloaded."],
  back_inbox: ["← Hộp việc", "← Inbox"],
  version: ["Phiên bản", "Version"],
  // dashboard
  dashboard_title: ["Bảng điều khiển lãnh đạo", "Leaders' dashboard"],
  unit_code: ["Mã đơn vị (trống: toàn hệ thống)", "Unit code (empty: whole system)"],
  volume: ["Số phản ánh theo thời gian", "Reports over time"],
  heatmap: ["Giờ gửi theo ngày trong tuần", "Submissions by weekday and hour"],
  ranking: ["Xếp hạng đơn vị", "Unit ranking"],
  unit_map: ["Bản đồ tình hình xử lý của các đơn vị", "Handling status of the units"],
  median_hours: ["Trung vị (giờ)", "Median (hours)"],
  weekdays: [["T2", "T3", "T4", "T5", "T6", "T7", "CN"], ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]],
  hour: ["Giờ", "Hour"],
  legend: ["Chú giải", "Legend"],
  colour_green: ["Tốt", "Good"],
  colour_amber: ["Cần cải thiện", "Needs improvement"],
  colour_red: ["Kém", "Poor"],
  colour_grey: ["Chưa có dữ liệu", "No data"],
  open_reports: ["Đang mở", "Open"],
};

// Statuses' labels come from the server (kinds.js fills this from GET /v1/config).
export const STATUS = {};

export const EVENTS = {
  submitted: ["Người dân gửi phản ánh", "Report submitted"],
  routed: ["Chuyển tới đơn vị xử lý", "Routed to the unit"],
  needs_triage: ["Chờ phân loại", "Waiting for triage"],
  accept: ["Đơn vị tiếp nhận", "Accepted by the unit"],
  refuse: ["Từ chối", "Refused"],
  transfer: ["Chuyển đơn vị", "Transferred"],
  assign: ["Giao xử lý", "Assigned"],
  set_priority: ["Đổi mức độ", "Priority changed"],
  note: ["Ghi chú nội bộ", "Internal note"],
  request_info: ["Đề nghị bổ sung thông tin", "More information requested"],
  resolve: ["Có kết quả xử lý", "Result written"],
  approve: ["Lãnh đạo phê duyệt kết quả", "Result approved"],
  return: ["Trả lại để xử lý tiếp", "Returned for more work"],
  reopen: ["Mở lại", "Reopened"],
  citizen_reply: ["Người dân bổ sung thông tin", "Citizen replied"],
  rated: ["Người dân đánh giá", "Rated by the citizen"],
  rating_changed: ["Đánh giá được sửa", "Rating changed"],
  evidence_requested: ["Chuẩn bị minh chứng", "Evidence upload started"],
  media_added: ["Thêm ảnh, video", "Photo or video added"],
  media_refused: ["Ảnh, video bị từ chối", "Photo or video refused"],
  due_soon: ["Sắp đến hạn", "Due soon"],
  overdue: ["Quá hạn", "Overdue"],
  escalate_parent: ["Báo cáo cấp trên", "Escalated to the parent unit"],
  closed: ["Đóng phản ánh", "Closed"],
};

export const ACTIONS = {
  accept: ["Tiếp nhận", "Accept"],
  refuse: ["Từ chối", "Refuse"],
  transfer: ["Chuyển đơn vị", "Transfer"],
  assign: ["Giao xử lý", "Assign"],
  set_priority: ["Đổi mức độ", "Set priority"],
  note: ["Ghi chú", "Note"],
  request_info: ["Hỏi thêm người dân", "Request information"],
  resolve: ["Trả kết quả", "Resolve"],
  approve: ["Phê duyệt", "Approve"],
  return: ["Trả lại", "Return"],
  reopen: ["Mở lại", "Reopen"],
};

export const PRIORITY = {
  normal: ["Bình thường", "Normal"],
  urgent: ["Khẩn", "Urgent"],
  complex: ["Phức tạp", "Complex"],
};

export const DUE_STATE = {
  on_time: ["Trong hạn", "On time"],
  due_soon: ["Sắp đến hạn", "Due soon"],
  overdue: ["Quá hạn", "Overdue"],
  none: ["Không có hạn", "No deadline"],
};

export const REFUSAL = {
  incomplete: ["Nội dung chưa đủ thông tin để xử lý", "Not enough information to act on"],
  not_competent: ["Không thuộc thẩm quyền giải quyết", "Not within this unit's competence"],
  duplicate: ["Trùng với phản ánh đã được tiếp nhận", "Duplicate of a report already accepted"],
  not_public_matter: ["Không phải vấn đề công cộng", "Not a public matter"],
  inappropriate: ["Nội dung không phù hợp", "Inappropriate content"],
};

/** The text of a UI key in the current language; {name} placeholders are filled from `vars`. */
export function t(key, vars) {
  const entry = T[key];
  let out = entry ? pick(entry) : key;
  if (vars && typeof out === "string") {
    for (const [k, v] of Object.entries(vars)) out = out.replace(`{${k}}`, String(v));
  }
  return out;
}

export const label = (table, code) => (table[code] ? pick(table[code]) : code ?? "");
