//! The FIX 4.4 tags and message types this session reads or writes.

/// The field separator.
pub const SOH: u8 = 0x01;

/// BeginString (8).
pub const BEGIN_STRING: u32 = 8;
/// BodyLength (9).
pub const BODY_LENGTH: u32 = 9;
/// CheckSum (10).
pub const CHECK_SUM: u32 = 10;
/// ClOrdID (11).
pub const CL_ORD_ID: u32 = 11;
/// BeginSeqNo (7).
pub const BEGIN_SEQ_NO: u32 = 7;
/// EndSeqNo (16).
pub const END_SEQ_NO: u32 = 16;
/// LastPx (31).
pub const LAST_PX: u32 = 31;
/// LastQty (32).
pub const LAST_QTY: u32 = 32;
/// MsgSeqNum (34).
pub const MSG_SEQ_NUM: u32 = 34;
/// MsgType (35).
pub const MSG_TYPE: u32 = 35;
/// NewSeqNo (36).
pub const NEW_SEQ_NO: u32 = 36;
/// OrderQty (38).
pub const ORDER_QTY: u32 = 38;
/// OrdStatus (39).
pub const ORD_STATUS: u32 = 39;
/// OrdType (40).
pub const ORD_TYPE: u32 = 40;
/// OrigClOrdID (41).
pub const ORIG_CL_ORD_ID: u32 = 41;
/// PossDupFlag (43).
pub const POSS_DUP_FLAG: u32 = 43;
/// Price (44).
pub const PRICE: u32 = 44;
/// RefSeqNum (45).
pub const REF_SEQ_NUM: u32 = 45;
/// SenderCompID (49).
pub const SENDER_COMP_ID: u32 = 49;
/// SendingTime (52).
pub const SENDING_TIME: u32 = 52;
/// Side (54).
pub const SIDE: u32 = 54;
/// Symbol (55).
pub const SYMBOL: u32 = 55;
/// TargetCompID (56).
pub const TARGET_COMP_ID: u32 = 56;
/// Text (58).
pub const TEXT: u32 = 58;
/// TransactTime (60).
pub const TRANSACT_TIME: u32 = 60;
/// EncryptMethod (98).
pub const ENCRYPT_METHOD: u32 = 98;
/// CxlRejReason (102).
pub const CXL_REJ_REASON: u32 = 102;
/// HeartBtInt (108).
pub const HEART_BT_INT: u32 = 108;
/// TestReqID (112).
pub const TEST_REQ_ID: u32 = 112;
/// OrigSendingTime (122).
pub const ORIG_SENDING_TIME: u32 = 122;
/// GapFillFlag (123).
pub const GAP_FILL_FLAG: u32 = 123;
/// ResetSeqNumFlag (141).
pub const RESET_SEQ_NUM_FLAG: u32 = 141;
/// ExecType (150).
pub const EXEC_TYPE: u32 = 150;
/// LeavesQty (151).
pub const LEAVES_QTY: u32 = 151;
/// RefMsgType (372).
pub const REF_MSG_TYPE: u32 = 372;
/// SessionRejectReason (373).
pub const SESSION_REJECT_REASON: u32 = 373;
/// BusinessRejectRefID (379).
pub const BUSINESS_REJECT_REF_ID: u32 = 379;
/// BusinessRejectReason (380).
pub const BUSINESS_REJECT_REASON: u32 = 380;
/// Username (553).
pub const USERNAME: u32 = 553;
/// Password (554): masked in every rendering of a message.
pub const PASSWORD: u32 = 554;

/// MsgType (35) values.
pub mod msg {
    /// Heartbeat.
    pub const HEARTBEAT: &[u8] = b"0";
    /// TestRequest.
    pub const TEST_REQUEST: &[u8] = b"1";
    /// ResendRequest.
    pub const RESEND_REQUEST: &[u8] = b"2";
    /// Reject (session level).
    pub const REJECT: &[u8] = b"3";
    /// SequenceReset (GapFill or Reset).
    pub const SEQUENCE_RESET: &[u8] = b"4";
    /// Logout.
    pub const LOGOUT: &[u8] = b"5";
    /// ExecutionReport.
    pub const EXECUTION_REPORT: &[u8] = b"8";
    /// OrderCancelReject.
    pub const ORDER_CANCEL_REJECT: &[u8] = b"9";
    /// Logon.
    pub const LOGON: &[u8] = b"A";
    /// NewOrderSingle.
    pub const NEW_ORDER_SINGLE: &[u8] = b"D";
    /// OrderCancelRequest.
    pub const ORDER_CANCEL_REQUEST: &[u8] = b"F";
    /// OrderCancelReplaceRequest.
    pub const ORDER_CANCEL_REPLACE_REQUEST: &[u8] = b"G";
    /// BusinessMessageReject.
    pub const BUSINESS_REJECT: &[u8] = b"j";
}
